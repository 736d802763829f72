/**
 * log-user
 *
 * Logs the user's email and country on every login.
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
  api.state.set('country', event.request?.geo?.country ?? 'unknown')
}
