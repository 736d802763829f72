// Routes users from restricted regions through a regional compliance check.
const RESTRICTED = ['CN', 'RU']

exports.handler = async (event, api) => {
  const country = event.request.geo.country
  const restricted = RESTRICTED.includes(country)
  api.state.set('requires_additional_review', restricted)
  if (restricted) {
    api.log('warn', `Login from restricted region: ${country}`)
  }
}
