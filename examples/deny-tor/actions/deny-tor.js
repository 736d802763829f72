// Cymmetri's security team blocks logins from Tor exit nodes for their high-value tenant.
exports.handler = async (event, api) => {
  if (event.request.asn.is_tor) {
    api.log('warn', `Tor exit node ${event.request.ip} denied`)
    api.deny('tor-exit-node-blocked')
    return
  }
}
