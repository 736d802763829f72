// Scores the login's IP with the risk service (a recorded response in simulation).
exports.handler = async (event, api) => {
  const res = await api.fetch(`https://risk.acme.example/ip/${event.request.ip}`, {
    headers: { authorization: `Bearer ${event.secrets.RISK_API_KEY}` },
  })
  const { score } = await res.json()
  api.state.set('score', score)
}
