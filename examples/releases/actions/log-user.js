/**
 * log-user
 *
 * Logs the user's email and country on every login, and puts the country in the token.
 *
 * @param {IntelliAuthActionEvent} event - Read-only authentication context.
 * @param {IntelliAuthActionApi} api - Side-effect surface.
 * @returns {Promise<void>}
 */
exports.handler = async function logUser(event, api) {
  const email = event.user?.email
  if (!email) {
    api.log('warn', 'log-user: no user email — action ran before identity lookup')
    return
  }
  api.log('info', `log-user: login for ${email}`)
  api.state.set('seen_email', email)
  const country = event.request?.geo?.country ?? 'unknown'
  api.state.set('country', country)
  // Release 2: the country also travels in the session token.
  api.session.setCustomClaim('country', country)
}
