// v1: posts the log line; failures are swallowed.
module.exports = {
  sendLog: async (code, message) => {
    try {
      await fetch(actions.secrets.SERVICE_URL, {
        method: 'POST',
        headers: { 'X-API-Key': actions.secrets.API_KEY },
        body: JSON.stringify({ code, message }),
      });
    } catch (err) {
      // v1 ignored delivery failures.
    }
  },
};
