// Sends every successful password login to the log service through the pinned logger module.
const logger = require('actions:logger');

exports.handler = async (event, api) => {
  const receipt = await logger.sendLog('login_success', `login for ${event.user?.id ?? 'unknown'}`);
  api.log('info', `audit receipt ${receipt}`);
  api.state.set('receipt', receipt);
};
