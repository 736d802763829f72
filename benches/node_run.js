// node_run.js: the whole-process baseline for `authflow run`. One `node` process reads the same
// event preset as `authflow run examples/log-user/flows/login.yaml --event logged-in-us-user`,
// builds the action's event from it (without the simulator's `directory`, `credentials` and
// `now`), deep-freezes it, calls the log-user handler with an api that records its effects, and
// prints them as JSON. It does none of the flow's other work (parsing the flow, checks, the
// password check, the session), so it is a floor for what a Node-based runner could do.
// Run: node benches/node_run.js [event.json] [action.js]
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const eventPath = process.argv[2] || path.join(root, 'src/run/presets/logged-in-us-user.json');
const actionPath = process.argv[3] || path.join(root, 'examples/log-user/actions/log-user.js');

function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze(value[key]);
  }
  return value;
}

(async () => {
  const preset = JSON.parse(fs.readFileSync(eventPath, 'utf8'));
  const { directory, credentials, now, description, ...event } = preset;
  event.secrets = {};
  const logs = [];
  const stateWrites = [];
  const api = {
    log: (level, message) => logs.push({ level, message: String(message) }),
    state: { set: (key, value) => stateWrites.push([key, value]) },
    deny: (reason) => { throw new Error(`unexpected deny: ${reason}`); },
    user: { setAppMetadata: () => {} },
    session: { setCustomClaim: () => {} },
  };
  const { handler } = require(actionPath);
  await handler(deepFreeze(event), deepFreeze(api));
  process.stdout.write(`${JSON.stringify({ logs, state_writes: stateWrites }, null, 2)}\n`);
})();
