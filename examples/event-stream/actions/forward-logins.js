/**
 * Handler to be executed while processing events in an Event Stream.
 * @param {Event} event - Details about the incoming event.
 * @param {EventStreamAPI} api - Methods and utilities to define event stream processing.
 */
exports.onExecuteEventStream = async (event, api) => {
  const response = await api.fetch('https://hooks.acme.example/logins', {
    method: 'POST',
    headers: { 'X-API-Key': event.secrets.API_KEY },
    body: JSON.stringify({ user: event.user?.id, country: event.request.geo.country }),
  });
  api.log(response.ok ? 'info' : 'error', `forwarded: HTTP ${response.status}`);
};
