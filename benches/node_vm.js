// node_vm.js: the log-user handler from the quickstart under Node's `vm` module, as a baseline
// for benches/actions.rs. Cold: a new context plus compiling and evaluating the action, then
// the first call. Warm: one call of the handler in an existing context, including building the
// frozen event from JSON and an api that records into arrays. Prints per-op times.
// Run: node benches/node_vm.js
'use strict';

const vm = require('node:vm');

const LOG_USER = `exports.handler = async function logUser(event, api) {
const email = event.user?.email
if (!email) {
api.log('warn', 'log-user: no user email — action ran before identity lookup')
return
}
api.log('info', \`log-user: login for \${email}\`)
api.state.set('seen_email', email)
api.state.set('country', event.request?.geo?.country ?? 'unknown')
}
`;

const EVENT_JSON = JSON.stringify({
  user: { email: 'ada@example.com', app_metadata: { plan: 'free' } },
  request: { ip: '203.0.113.9', geo: { country: 'US' } },
});

function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze(value[key]);
  }
  return value;
}

function coldStart() {
  const context = vm.createContext({ exports: {} });
  new vm.Script(LOG_USER, { filename: 'log-user.js' }).runInContext(context);
  return context.exports.handler;
}

async function call(handler) {
  const logs = [];
  const state = [];
  const api = {
    log: (level, message) => logs.push({ level, message }),
    state: { set: (key, value) => state.push([key, JSON.stringify(value)]) },
  };
  await handler(deepFreeze(JSON.parse(EVENT_JSON)), api);
  return { logs, state };
}

async function measure(name, iterations, body) {
  for (let i = 0; i < Math.min(iterations, 50); i++) await body();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await body();
  const nanos = Number(process.hrtime.bigint() - start) / iterations;
  const shown = nanos >= 1e6 ? `${(nanos / 1e6).toFixed(3)} ms` : `${(nanos / 1e3).toFixed(2)} µs`;
  console.log(`${name}: ${shown} per op (${iterations} ops)`);
}

(async () => {
  await measure('node_vm cold_start_log_user (new context + compile + first call)', 300, async () => {
    await call(coldStart());
  });
  const handler = coldStart();
  await measure('node_vm warm_call_log_user', 100000, async () => {
    await call(handler);
  });
})();
