// prelude.js: the script side of the custom-action sandbox.
//
// Evaluated once per runtime, before any user code. It captures the api ops and the builtins it
// relies on, removes everything a tenant's script must not reach (Deno.core, eval, the Function
// constructors, WebAssembly, the ambient clock, ...), installs `console` and `fetch`, and
// exposes `__authflow_define` / `__authflow_seal` so the engine can register the action and
// module factories. Its completion value is the per-run entry function, which only the engine
// holds. It must not keep any state that outlives the runtime, and it must not trust anything
// user code can reach after it has run.
(function (global) {
  'use strict';

  const ops = global.Deno.core.ops;
  const opInput = ops.op_authflow_input;
  const opLog = ops.op_authflow_log;
  const opStateSet = ops.op_authflow_state_set;
  const opSetAppMetadata = ops.op_authflow_set_app_metadata;
  const opSetClaim = ops.op_authflow_set_claim;
  const opDeny = ops.op_authflow_deny;
  const opFetch = ops.op_authflow_fetch;
  const opFinish = ops.op_authflow_finish;

  // Builtins are captured now so later tampering by the action cannot redirect the harness.
  const ObjectFreeze = Object.freeze;
  const ObjectIsFrozen = Object.isFrozen;
  const ObjectDefineProperty = Object.defineProperty;
  const ObjectGetOwnPropertyNames = Object.getOwnPropertyNames;
  const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const ObjectGetPrototypeOf = Object.getPrototypeOf;
  const ObjectKeys = Object.keys;
  const ObjectHasOwn = Object.hasOwn;
  const JSONParse = JSON.parse;
  const JSONStringify = JSON.stringify;
  const ReflectApply = Reflect.apply;
  const ReflectConstruct = Reflect.construct;
  const ArrayIsArray = Array.isArray;
  const ArrayPrototypePush = Array.prototype.push;
  const ArrayPrototypePop = Array.prototype.pop;
  const ArrayPrototypeJoin = Array.prototype.join;
  const StringCtor = String;
  const StringPrototypeStartsWith = String.prototype.startsWith;
  const StringPrototypeSlice = String.prototype.slice;
  const StringPrototypeToLowerCase = String.prototype.toLowerCase;
  const RegExpPrototypeTest = RegExp.prototype.test;
  const MapCtor = Map;
  const MapPrototypeGet = Map.prototype.get;
  const MapPrototypeSet = Map.prototype.set;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const EvalErrorCtor = EvalError;
  const OriginalDate = Date;
  const DatePrototypeToString = Date.prototype.toString;

  // --- Removing ambient authority -------------------------------------------------------------

  const removeGlobal = (name) => {
    try {
      delete global[name];
    } catch (_) {
      // A non-configurable global cannot be deleted; shadow it instead.
    }
    if (ObjectHasOwn(global, name)) {
      try {
        ObjectDefineProperty(global, name, { value: undefined, writable: false });
      } catch (_) {
        // Nothing more can be done from script; the hostile tests check the result.
      }
    }
  };
  const removedGlobals = [
    'Deno', '__bootstrap', '__infra', 'eval', 'WebAssembly', 'ShadowRealm', 'SharedArrayBuffer',
    'Atomics', 'performance', 'gc', 'setTimeout', 'setInterval', 'setImmediate',
    'clearTimeout', 'clearInterval', 'process', 'require', 'module', 'exports',
  ];
  const ownNames = ObjectGetOwnPropertyNames(global);
  for (let i = 0; i < ownNames.length; i++) {
    if (ReflectApply(StringPrototypeStartsWith, ownNames[i], ['__v8x'])) {
      ReflectApply(ArrayPrototypePush, removedGlobals, [ownNames[i]]);
    }
  }
  for (let i = 0; i < removedGlobals.length; i++) removeGlobal(removedGlobals[i]);
  if (typeof global.Temporal === 'object' && global.Temporal !== null) {
    try {
      delete global.Temporal.Now;
    } catch (_) {
      // Checked by the hostile tests.
    }
  }

  // Every way to reach a Function constructor gets a stub that throws, keeping `prototype` so
  // `instanceof Function` still works.
  const disableConstructor = (prototype, name) => {
    const stub = function () {
      throw new EvalErrorCtor(`${name} constructor is disabled in custom actions`);
    };
    ObjectDefineProperty(stub, 'prototype', { value: prototype, writable: false });
    ObjectDefineProperty(prototype, 'constructor', {
      value: stub,
      writable: false,
      configurable: false,
      enumerable: false,
    });
    return stub;
  };
  const functionStub = disableConstructor(Function.prototype, 'Function');
  disableConstructor(ObjectGetPrototypeOf(async function () {}), 'AsyncFunction');
  disableConstructor(ObjectGetPrototypeOf(function* () {}), 'GeneratorFunction');
  disableConstructor(ObjectGetPrototypeOf(async function* () {}), 'AsyncGeneratorFunction');
  ObjectDefineProperty(global, 'Function', {
    value: functionStub,
    writable: false,
    configurable: false,
    enumerable: false,
  });

  // The simulated clock: `Date.now()` and `new Date()` read the run's clock, never the host's.
  let clockMs = 0;
  const SimulatedDate = function Date(...args) {
    if (new.target === undefined) {
      return ReflectApply(DatePrototypeToString, new OriginalDate(clockMs), []);
    }
    return ReflectConstruct(OriginalDate, args.length === 0 ? [clockMs] : args, new.target);
  };
  ObjectDefineProperty(SimulatedDate, 'prototype', { value: OriginalDate.prototype, writable: false });
  ObjectDefineProperty(OriginalDate.prototype, 'constructor', {
    value: SimulatedDate,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  SimulatedDate.now = function now() {
    return clockMs;
  };
  SimulatedDate.UTC = OriginalDate.UTC;
  SimulatedDate.parse = OriginalDate.parse;
  ObjectDefineProperty(global, 'Date', { value: SimulatedDate, writable: true, configurable: true });

  // --- Helpers --------------------------------------------------------------------------------

  // The freezing walks keep their work list in a prototype-less object, so nothing the action
  // puts on `Array.prototype` (setters on indexes, a patched `push`) can observe or redirect it.
  const deepFreeze = (root) => {
    const pending = { __proto__: null };
    let count = 0;
    pending[count++] = root;
    while (count > 0) {
      const value = pending[--count];
      if (value === null || (typeof value !== 'object' && typeof value !== 'function')) continue;
      if (ObjectIsFrozen(value)) continue;
      ObjectFreeze(value);
      const names = ObjectGetOwnPropertyNames(value);
      for (let i = 0; i < names.length; i++) {
        const descriptor = ObjectGetOwnPropertyDescriptor(value, names[i]);
        if (descriptor !== undefined && ObjectHasOwn(descriptor, 'value')) {
          pending[count++] = descriptor.value;
        }
      }
    }
    return root;
  };

  // Freezes a tree that `JSON.parse` just built (plus the prelude's own accessor for
  // `user.app_metadata`, whose value is frozen already). Such a tree holds only enumerable own
  // data properties and no user code has seen it yet, so reading each key directly is exact
  // and skips a descriptor object per property, which dominates the cost of a warm call.
  const freezeJsonTree = (root) => {
    const pending = { __proto__: null };
    let count = 0;
    pending[count++] = root;
    while (count > 0) {
      const value = pending[--count];
      if (ObjectIsFrozen(value)) continue;
      ObjectFreeze(value);
      const keys = ObjectKeys(value);
      for (let i = 0; i < keys.length; i++) {
        const child = value[keys[i]];
        if (child !== null && typeof child === 'object') pending[count++] = child;
      }
    }
    return root;
  };

  const isPlainObject = (value) =>
    value !== null && typeof value === 'object' && !ArrayIsArray(value);

  // Copies own enumerable keys with define semantics, so a `__proto__` key stays a key.
  const defineAll = (target, source) => {
    const keys = ObjectKeys(source);
    for (let i = 0; i < keys.length; i++) {
      ObjectDefineProperty(target, keys[i], {
        value: source[keys[i]],
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
    return target;
  };

  const toJsonText = (value) => {
    const text = JSONStringify(value);
    return text === undefined ? '' : text;
  };

  const formatValue = (value) => {
    if (typeof value === 'string') return value;
    if (value instanceof ErrorCtor) {
      try {
        return `${StringCtor(value.name)}: ${StringCtor(value.message)}`;
      } catch (_) {
        return '[Error]';
      }
    }
    try {
      const text = JSONStringify(value);
      if (text !== undefined) return text;
    } catch (_) {
      // Cycles and BigInts fall back to String().
    }
    try {
      return StringCtor(value);
    } catch (_) {
      return '[unprintable]';
    }
  };

  const check = (result) => {
    if (result !== '') throw new ErrorCtor(result);
  };

  // --- The api --------------------------------------------------------------------------------

  const fetchImpl = async function fetch(resource, init) {
    let url;
    if (typeof resource === 'string') url = resource;
    else if (resource !== null && typeof resource === 'object' && typeof resource.url === 'string') url = resource.url;
    else url = StringCtor(resource);
    let method;
    let requestBody;
    if (init !== null && typeof init === 'object') {
      if (init.method !== undefined) method = StringCtor(init.method);
      if (init.body !== undefined && init.body !== null) requestBody = StringCtor(init.body);
    }
    const answer = JSONParse(opFetch(url, JSONStringify({ method, body: requestBody })));
    if (ObjectHasOwn(answer, 'error')) throw new TypeErrorCtor(answer.error);
    const status = answer.status;
    const body = answer.body;
    const headerMap = new MapCtor();
    const headerNames = ObjectKeys(answer.headers);
    for (let i = 0; i < headerNames.length; i++) {
      const name = headerNames[i];
      ReflectApply(MapPrototypeSet, headerMap, [
        ReflectApply(StringPrototypeToLowerCase, name, []),
        answer.headers[name],
      ]);
    }
    const lookup = (name) => ReflectApply(MapPrototypeGet, headerMap, [
      ReflectApply(StringPrototypeToLowerCase, StringCtor(name), []),
    ]);
    return ObjectFreeze({
      url,
      status,
      ok: status >= 200 && status < 300,
      statusText: '',
      headers: ObjectFreeze({
        get: (name) => {
          const value = lookup(name);
          return value === undefined ? null : value;
        },
        has: (name) => lookup(name) !== undefined,
      }),
      text: async () => body,
      json: async () => JSONParse(body),
    });
  };

  const log = (level, message) => {
    check(opLog(StringCtor(level), formatValue(message)));
  };

  const consoleLine = (level) => function (...args) {
    const parts = [];
    for (let i = 0; i < args.length; i++) ReflectApply(ArrayPrototypePush, parts, [formatValue(args[i])]);
    check(opLog(level, ReflectApply(ArrayPrototypeJoin, parts, [' '])));
  };
  ObjectDefineProperty(global, 'console', {
    value: ObjectFreeze({
      log: consoleLine('info'),
      info: consoleLine('info'),
      debug: consoleLine('debug'),
      warn: consoleLine('warn'),
      error: consoleLine('error'),
    }),
    writable: true,
    configurable: true,
  });
  ObjectDefineProperty(global, 'fetch', { value: fetchImpl, writable: true, configurable: true });

  // Builds the run's frozen event; `user.app_metadata` is a getter over the merged view so
  // patches made by `api.user.setAppMetadata` are visible at once.
  const buildEvent = (event, metadata) => {
    if (!isPlainObject(event)) return ObjectFreeze({});
    const user = event.user;
    if (isPlainObject(user)) {
      const base = user.app_metadata;
      metadata.view = freezeJsonTree(isPlainObject(base) ? defineAll({}, base) : {});
      ObjectDefineProperty(user, 'app_metadata', {
        get: () => metadata.view,
        enumerable: true,
        configurable: false,
      });
    }
    return freezeJsonTree(event);
  };

  const buildApi = (metadata) => deepFreeze({
    deny(reason) {
      check(opDeny(formatValue(reason)));
    },
    log,
    state: {
      set(key, value) {
        check(opStateSet(typeof key === 'string' ? key : '', toJsonText(value)));
      },
    },
    user: {
      setAppMetadata(patch) {
        const text = isPlainObject(patch) ? toJsonText(patch) : 'null';
        check(opSetAppMetadata(text));
        const merged = defineAll({}, metadata.view);
        const parsed = JSONParse(text);
        const keys = ObjectKeys(parsed);
        for (let i = 0; i < keys.length; i++) {
          if (parsed[keys[i]] === null) delete merged[keys[i]];
          else ObjectDefineProperty(merged, keys[i], {
            value: parsed[keys[i]], writable: true, enumerable: true, configurable: true,
          });
        }
        metadata.view = deepFreeze(merged);
      },
    },
    session: {
      setCustomClaim(name, value) {
        check(opSetClaim(typeof name === 'string' ? name : '', toJsonText(value)));
      },
    },
    fetch: fetchImpl,
  });

  // --- Modules --------------------------------------------------------------------------------

  const moduleEntries = new MapCtor();
  let actionFactory = null;
  let actionModule = null;

  const requireModule = function require(specifier) {
    const text = StringCtor(specifier);
    if (!ReflectApply(StringPrototypeStartsWith, text, ['actions:'])) {
      throw new ErrorCtor(
        `require('${text}') is not available in custom actions: only modules attached to the action can be required, as require('actions:<module>')`,
      );
    }
    const name = ReflectApply(StringPrototypeSlice, text, [8]);
    const entry = ReflectApply(MapPrototypeGet, moduleEntries, [name]);
    if (entry === undefined) {
      throw new ErrorCtor(`module 'actions:${name}' is not attached to this action`);
    }
    if (entry.module !== null) return entry.module.exports;
    const module = { exports: {} };
    entry.module = module;
    try {
      ReflectApply(entry.factory, undefined, [module.exports, requireModule, module, entry.actions]);
    } catch (error) {
      entry.module = null;
      throw error;
    }
    return module.exports;
  };

  const define = (kind, name, factory, secrets) => {
    if (kind === 'action') {
      actionFactory = factory;
    } else {
      ReflectApply(MapPrototypeSet, moduleEntries, [StringCtor(name), {
        factory,
        module: null,
        actions: deepFreeze({ secrets: defineAll({}, secrets) }),
      }]);
    }
  };
  ObjectDefineProperty(global, '__authflow_define', { value: define, configurable: true });
  ObjectDefineProperty(global, '__authflow_seal', {
    value: () => {
      delete global.__authflow_define;
      delete global.__authflow_seal;
    },
    configurable: true,
  });

  // --- One run --------------------------------------------------------------------------------

  const STACK_OVERFLOW = /call stack|stack overflow|too much recursion/i;
  // Engines refuse oversized strings before the heap limit is reached (QuickJS ropes make
  // doubling cheap until the length cap); that is the memory guard firing, so it counts as one.
  const OUT_OF_MEMORY = /string too long|invalid string length|out of memory/i;

  const describe = (kind, error) => {
    let message;
    let stack = '';
    try {
      if (error instanceof ErrorCtor) {
        message = `${StringCtor(error.name)}: ${StringCtor(error.message)}`;
        stack = typeof error.stack === 'string' ? error.stack : '';
        if (ReflectApply(RegExpPrototypeTest, STACK_OVERFLOW, [message])) kind = 'stack';
        else if (ReflectApply(RegExpPrototypeTest, OUT_OF_MEMORY, [message])) kind = 'heap';
      } else {
        message = `non-Error value thrown: ${formatValue(error)}`;
      }
    } catch (_) {
      message = 'an error whose message could not be read';
    }
    return { kind, message, stack };
  };

  const invoke = async (trigger, event, api) => {
    if (actionModule === null) {
      const module = { exports: {} };
      actionModule = module;
      try {
        ReflectApply(actionFactory, undefined, [module.exports, requireModule, module]);
      } catch (error) {
        actionModule = null;
        return describe('threw', error);
      }
    }
    const entry = trigger === 'login' ? 'handler' : 'onExecuteEventStream';
    const exported = actionModule.exports;
    const handler = exported !== null && exported !== undefined ? exported[entry] : undefined;
    if (typeof handler !== 'function') {
      return {
        kind: 'missing_entry',
        message: `the action does not export a function named '${entry}' (write exports.${entry} = async (event, api) => { ... })`,
        stack: '',
      };
    }
    let result;
    try {
      result = ReflectApply(handler, undefined, [event, api]);
    } catch (error) {
      return describe('threw', error);
    }
    try {
      await result;
    } catch (error) {
      return describe('rejected', error);
    }
    return { kind: 'ok', message: '', stack: '' };
  };

  // The api is built once per runtime: its functions find the current run through the ops and
  // `metadata`, so a fresh copy per run would only cost allocations.
  const emptyView = ObjectFreeze({});
  const metadata = { __proto__: null, view: emptyView };
  const api = buildApi(metadata);

  return async function runAction() {
    const input = JSONParse(opInput());
    clockMs = input.clock_ms;
    metadata.view = emptyView;
    const event = buildEvent(input.event, metadata);
    let report;
    try {
      report = await invoke(input.trigger, event, api);
    } catch (error) {
      report = describe('rejected', error);
    }
    opFinish(report.kind, report.message, report.stack);
  };
})(globalThis);
