// Adds the user's tier as a namespaced custom claim, defaulting to free.
exports.handler = async (event, api) => {
  const tier = event.user?.app_metadata?.tier ?? 'free'
  api.session.setCustomClaim('https://acme.example/tier', tier)
  api.user.setAppMetadata({ last_login_country: event.request.geo.country })
  // setAppMetadata is a shallow merge, visible at once in the same run.
  api.log('info', `tier ${tier}, now ${JSON.stringify(event.user.app_metadata)}`)
}
