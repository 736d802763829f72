// Records where the login came from; production turns it off (vars.audit_enabled).
exports.handler = async (event, api) => {
  api.user.setAppMetadata({ last_login_country: event.request.geo.country })
}
