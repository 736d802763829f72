// Draft: batching, not published yet; no action can pin it.
module.exports = {
  sendLog: async (code, message) => {
    throw new Error('draft: batching is not finished');
  },
};
