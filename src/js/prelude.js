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
  const opModuleSecrets = ops.op_authflow_module_secrets;

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
  const StringCtor = String;
  const StringPrototypeStartsWith = String.prototype.startsWith;
  const StringPrototypeSlice = String.prototype.slice;
  const StringPrototypeToLowerCase = String.prototype.toLowerCase;
  const StringPrototypeCharCodeAt = String.prototype.charCodeAt;
  const MathImul = Math.imul;
  const RegExpPrototypeTest = RegExp.prototype.test;
  const RegExpPrototype = RegExp.prototype;
  const RegExpPrototypeSourceGetter = ObjectGetOwnPropertyDescriptor(RegExp.prototype, 'source').get;
  const StringPrototype = String.prototype;
  const StringPrototypeIndexOf = String.prototype.indexOf;
  const StringPrototypeLastIndexOf = String.prototype.lastIndexOf;
  const StringPrototypeIncludes = String.prototype.includes;
  const StringPrototypeSplit = String.prototype.split;
  const StringPrototypeReplace = String.prototype.replace;
  const StringPrototypeReplaceAll = String.prototype.replaceAll;
  const ArrayPrototype = Array.prototype;
  const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
  const TypedArrayPrototypeLengthGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, 'length').get;
  const SymbolMatch = Symbol.match;
  const SymbolSplit = Symbol.split;
  const SymbolReplace = Symbol.replace;
  const MathTrunc = Math.trunc;
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
    // Both depend on when the collector runs (runs are deterministic), and finalisation
    // callbacks would run as jobs outside the handler's call.
    'FinalizationRegistry', 'WeakRef',
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

  // Every string handed to an op is cut to the run's text cap (which the engine sets above
  // every budget and bound), so a script cannot make the engine copy more than that out of its
  // heap; a cut string is over its budget and is refused, never kept.
  let textCap = 0;
  const capText = (text) => (text.length > textCap
    ? ReflectApply(StringPrototypeSlice, text, [0, textCap + 1])
    : text);
  const utf8Length = (text) => {
    let bytes = 0;
    for (let i = 0; i < text.length; i++) {
      const unit = ReflectApply(StringPrototypeCharCodeAt, text, [i]);
      if (unit < 0x80) bytes += 1;
      else if (unit < 0x800) bytes += 2;
      else if (unit >= 0xd800 && unit < 0xdc00) { bytes += 4; i++; }
      else bytes += 3;
    }
    return bytes;
  };

  // Reads a property the caller put on its own object, never one inherited from a prototype
  // another script could have replaced.
  const ownValue = (object, key) => (ObjectHasOwn(object, key) ? object[key] : undefined);

  // --- Native built-ins that would not see a termination -------------------------------------

  // A termination reaches a script at its next loop or call, but a single native call runs to
  // its end: QuickJS searches strings naively (time proportional to both lengths) and sorts
  // without checking. Past a size where the native call could take long, the same operations
  // run as short native steps driven from script, which a termination stops between steps.
  // Results, including the order of conversions and errors, are the native ones.
  const SEARCH_COST = 1 << 24;
  const SORT_NATIVE_MAX = 1 << 14;
  const costly = (length, searchLength) => searchLength > 1 && length >= searchLength
    && (length - searchLength + 1) * searchLength > SEARCH_COST;
  const toIntegerOrInfinity = (value) => {
    const number = +value;
    if (number !== number) return 0;
    return MathTrunc(number);
  };
  const clamp = (value, low, high) => (value < low ? low : value > high ? high : value);
  // The first index >= from where `search` occurs in `text`: native single-character
  // searches find candidates, native startsWith checks each.
  const indexFrom = (text, search, from) => {
    const first = ReflectApply(StringPrototypeSlice, search, [0, 1]);
    const last = text.length - search.length;
    for (let i = from; i <= last; i++) {
      i = ReflectApply(StringPrototypeIndexOf, text, [first, i]);
      if (i < 0 || i > last) return -1;
      if (ReflectApply(StringPrototypeStartsWith, text, [search, i])) return i;
    }
    return -1;
  };
  const lastIndexFrom = (text, search, from) => {
    const first = ReflectApply(StringPrototypeSlice, search, [0, 1]);
    for (let i = clamp(from, 0, text.length - search.length); i >= 0; i--) {
      i = ReflectApply(StringPrototypeLastIndexOf, text, [first, i]);
      if (i < 0) return -1;
      if (ReflectApply(StringPrototypeStartsWith, text, [search, i])) return i;
    }
    return -1;
  };
  const isRegExp = (value) => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
    const matcher = value[SymbolMatch];
    if (matcher !== undefined) return !!matcher;
    try {
      ReflectApply(RegExpPrototypeSourceGetter, value, []);
      return value !== RegExpPrototype;
    } catch (_) {
      return false;
    }
  };
  const requireCoercible = (value, name) => {
    if (value === null || value === undefined) {
      throw new TypeErrorCtor(`String.prototype.${name} called on null or undefined`);
    }
  };
  // GetMethod(value, symbol) of the string protocols (`@@split`, `@@replace`).
  const protocolMethod = (value, symbol) => {
    if (value === undefined || value === null) return undefined;
    const method = value[symbol];
    return method === null ? undefined : method;
  };
  // Appends with define semantics, so setters on Array.prototype never see the parts.
  const append = (array, value) => {
    ObjectDefineProperty(array, array.length, {
      value, writable: true, enumerable: true, configurable: true,
    });
  };
  // GetSubstitution for a match without captures.
  const substitution = (matched, text, position, replacement) => {
    if (ReflectApply(StringPrototypeIndexOf, replacement, ['$']) < 0) return replacement;
    let result = '';
    for (let i = 0; i < replacement.length; i++) {
      const c = replacement[i];
      const next = replacement[i + 1];
      if (c !== '$' || next === undefined) result += c;
      else if (next === '$') { result += '$'; i++; }
      else if (next === '&') { result += matched; i++; }
      else if (next === '`') { result += ReflectApply(StringPrototypeSlice, text, [0, position]); i++; }
      else if (next === "'") { result += ReflectApply(StringPrototypeSlice, text, [position + matched.length]); i++; }
      else result += c;
    }
    return result;
  };
  const replaceAt = (text, search, positions, replaceValue) => {
    const functional = typeof replaceValue === 'function';
    const replacement = functional ? undefined : StringCtor(replaceValue);
    let result = '';
    let end = 0;
    for (let k = 0; k < positions.length; k++) {
      const position = positions[k];
      const piece = functional
        ? StringCtor(ReflectApply(replaceValue, undefined, [search, position, text]))
        : substitution(search, text, position, replacement);
      result += ReflectApply(StringPrototypeSlice, text, [end, position]) + piece;
      end = position + search.length;
    }
    return result + ReflectApply(StringPrototypeSlice, text, [end]);
  };
  const guard = (prototype, name, replacement, length) => {
    ObjectDefineProperty(replacement, 'length', { value: length, configurable: true });
    ObjectDefineProperty(prototype, name, {
      value: replacement, writable: true, enumerable: false, configurable: true,
    });
  };
  guard(StringPrototype, 'indexOf', function indexOf(searchString, position) {
    requireCoercible(this, 'indexOf');
    const text = StringCtor(this);
    const search = StringCtor(searchString);
    if (!costly(text.length, search.length)) return ReflectApply(StringPrototypeIndexOf, text, [search, position]);
    return indexFrom(text, search, clamp(toIntegerOrInfinity(position), 0, text.length));
  }, 1);
  guard(StringPrototype, 'lastIndexOf', function lastIndexOf(searchString, position) {
    requireCoercible(this, 'lastIndexOf');
    const text = StringCtor(this);
    const search = StringCtor(searchString);
    if (!costly(text.length, search.length)) return ReflectApply(StringPrototypeLastIndexOf, text, [search, position]);
    const number = +position;
    const start = number !== number ? text.length : toIntegerOrInfinity(number);
    return lastIndexFrom(text, search, clamp(start, 0, text.length));
  }, 1);
  guard(StringPrototype, 'includes', function includes(searchString, position) {
    requireCoercible(this, 'includes');
    const text = StringCtor(this);
    if (isRegExp(searchString)) return ReflectApply(StringPrototypeIncludes, text, [searchString, position]);
    const search = StringCtor(searchString);
    if (!costly(text.length, search.length)) return ReflectApply(StringPrototypeIncludes, text, [search, position]);
    return indexFrom(text, search, clamp(toIntegerOrInfinity(position), 0, text.length)) >= 0;
  }, 1);
  guard(StringPrototype, 'split', function split(separator, limit) {
    requireCoercible(this, 'split');
    const splitter = protocolMethod(separator, SymbolSplit);
    if (splitter !== undefined) return ReflectApply(splitter, separator, [this, limit]);
    const text = StringCtor(this);
    const lim = limit === undefined ? 4294967295 : limit >>> 0;
    const search = StringCtor(separator);
    if (!costly(text.length, search.length)) return ReflectApply(StringPrototypeSplit, text, [search, lim]);
    const parts = [];
    if (lim === 0) return parts;
    let start = 0;
    for (;;) {
      const found = indexFrom(text, search, start);
      if (found < 0) break;
      append(parts, ReflectApply(StringPrototypeSlice, text, [start, found]));
      if (parts.length === lim) return parts;
      start = found + search.length;
    }
    append(parts, ReflectApply(StringPrototypeSlice, text, [start]));
    return parts;
  }, 2);
  guard(StringPrototype, 'replace', function replace(searchValue, replaceValue) {
    requireCoercible(this, 'replace');
    const replacer = protocolMethod(searchValue, SymbolReplace);
    if (replacer !== undefined) return ReflectApply(replacer, searchValue, [this, replaceValue]);
    const text = StringCtor(this);
    const search = StringCtor(searchValue);
    if (!costly(text.length, search.length)) return ReflectApply(StringPrototypeReplace, text, [search, replaceValue]);
    const replaceWith = typeof replaceValue === 'function' ? replaceValue : StringCtor(replaceValue);
    const position = indexFrom(text, search, 0);
    if (position < 0) return text;
    return replaceAt(text, search, [position], replaceWith);
  }, 2);
  guard(StringPrototype, 'replaceAll', function replaceAll(searchValue, replaceValue) {
    requireCoercible(this, 'replaceAll');
    if (isRegExp(searchValue)) return ReflectApply(StringPrototypeReplaceAll, this, [searchValue, replaceValue]);
    const replacer = protocolMethod(searchValue, SymbolReplace);
    if (replacer !== undefined) return ReflectApply(replacer, searchValue, [this, replaceValue]);
    const text = StringCtor(this);
    const search = StringCtor(searchValue);
    if (!costly(text.length, search.length)) return ReflectApply(StringPrototypeReplaceAll, text, [search, replaceValue]);
    const replaceWith = typeof replaceValue === 'function' ? replaceValue : StringCtor(replaceValue);
    const positions = { __proto__: null, length: 0 };
    for (let position = indexFrom(text, search, 0); position >= 0;
      position = indexFrom(text, search, position + search.length)) {
      positions[positions.length++] = position;
    }
    return replaceAt(text, search, positions, replaceWith);
  }, 2);

  // Sorting without a comparator is one native call; past SORT_NATIVE_MAX elements the same
  // order comes from a comparator, whose calls a termination can stop.
  const compareAsStrings = (x, y) => {
    const a = StringCtor(x);
    const b = StringCtor(y);
    return a < b ? -1 : b < a ? 1 : 0;
  };
  const compareNumbers = (x, y) => {
    if (x < y) return -1;
    if (x > y) return 1;
    if (typeof x !== 'number') return 0;
    if (x !== x) return y !== y ? 0 : 1;
    if (y !== y) return -1;
    if (x === 0 && y === 0) {
      const xNegative = 1 / x < 0;
      const yNegative = 1 / y < 0;
      return xNegative === yNegative ? 0 : xNegative ? -1 : 1;
    }
    return 0;
  };
  const guardSort = (prototype, name, native, compareDefault, lengthOf) => {
    guard(prototype, name, {
      [name](comparefn) {
        if (comparefn === undefined && lengthOf(this) > SORT_NATIVE_MAX) {
          return ReflectApply(native, this, [compareDefault]);
        }
        return ReflectApply(native, this, [comparefn]);
      },
    }[name], 1);
  };
  const arrayLength = (value) => (value !== null && value !== undefined ? value.length : 0);
  const typedArrayLength = (value) => {
    try {
      return ReflectApply(TypedArrayPrototypeLengthGetter, value, []);
    } catch (_) {
      return 0;
    }
  };
  guardSort(ArrayPrototype, 'sort', ArrayPrototype.sort, compareAsStrings, arrayLength);
  guardSort(TypedArrayPrototype, 'sort', TypedArrayPrototype.sort, compareNumbers, typedArrayLength);
  if (typeof ArrayPrototype.toSorted === 'function') {
    guardSort(ArrayPrototype, 'toSorted', ArrayPrototype.toSorted, compareAsStrings, arrayLength);
  }
  if (typeof TypedArrayPrototype.toSorted === 'function') {
    guardSort(TypedArrayPrototype, 'toSorted', TypedArrayPrototype.toSorted, compareNumbers, typedArrayLength);
  }

  // --- Math.random ----------------------------------------------------------------------------

  // Runs are deterministic: Math.random is sfc32 seeded per run by the engine from the run's
  // event and clock, so the same inputs draw the same numbers in any runtime, warm or cold.
  let randomA = 0;
  let randomB = 0;
  let randomC = 0;
  let randomD = 0;
  const nextRandom32 = () => {
    const t = (((randomA + randomB) | 0) + randomD) | 0;
    randomD = (randomD + 1) | 0;
    randomA = randomB ^ (randomB >>> 9);
    randomB = (randomC + (randomC << 3)) | 0;
    randomC = (randomC << 21) | (randomC >>> 11);
    randomC = (randomC + t) | 0;
    return t >>> 0;
  };
  const seedRandom = (high, low) => {
    randomA = high | 0;
    randomB = low | 0;
    randomC = MathImul(high ^ 0x9e3779b9, 0x85ebca6b) | 0;
    randomD = 1;
    for (let i = 0; i < 12; i++) nextRandom32();
  };
  ObjectDefineProperty(Math, 'random', {
    value: function random() {
      // 53 random bits: 27 from one draw, 26 from the next.
      return ((nextRandom32() >>> 5) * 67108864 + (nextRandom32() >>> 6)) / 9007199254740992;
    },
    writable: true,
    configurable: true,
    enumerable: false,
  });

  // --- The api --------------------------------------------------------------------------------

  // Modules reach this through a binding of their own and the read-only global, so an action
  // cannot wrap it to watch a module's requests; it reads only own properties of what it is
  // given and answers with prototype-less objects, so hooks on Object.prototype (a `then`, a
  // `method` getter) never see a module's request or response either.
  const fetchImpl = async function fetch(resource, init) {
    let url;
    const isObject = resource !== null && typeof resource === 'object';
    if (typeof resource === 'string') url = resource;
    else if (isObject && typeof ownValue(resource, 'url') === 'string') url = ownValue(resource, 'url');
    else url = StringCtor(resource);
    let method;
    let requestBody;
    let bodyBytes;
    if (init !== null && typeof init === 'object') {
      const givenMethod = ownValue(init, 'method');
      const givenBody = ownValue(init, 'body');
      if (givenMethod !== undefined) method = capText(StringCtor(givenMethod));
      if (givenBody !== undefined && givenBody !== null) {
        requestBody = StringCtor(givenBody);
        if (requestBody.length > textCap) {
          bodyBytes = utf8Length(requestBody);
          requestBody = capText(requestBody);
        }
      }
    }
    const answer = JSONParse(opFetch(
      capText(url),
      JSONStringify({ __proto__: null, method, body: requestBody, body_bytes: bodyBytes }),
    ));
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
      __proto__: null,
      url,
      status,
      ok: status >= 200 && status < 300,
      statusText: '',
      headers: ObjectFreeze({
        __proto__: null,
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
    check(opLog(capText(StringCtor(level)), capText(formatValue(message))));
  };

  // The line is built by concatenation: an array would let setters on Array.prototype see
  // the parts.
  const consoleLine = (level) => function (...args) {
    let line = '';
    for (let i = 0; i < args.length; i++) {
      line = i === 0 ? formatValue(args[i]) : `${line} ${formatValue(args[i])}`;
      if (line.length > textCap) break;
    }
    check(opLog(level, capText(line)));
  };
  const consoleObject = ObjectFreeze({
    __proto__: null,
    log: consoleLine('info'),
    info: consoleLine('info'),
    debug: consoleLine('debug'),
    warn: consoleLine('warn'),
    error: consoleLine('error'),
  });
  // `fetch` and `console` are the engine's own bindings: read-only, so no script can put a
  // wrapper between a module and them.
  ObjectDefineProperty(global, 'console', { value: consoleObject, writable: false, configurable: false });
  ObjectDefineProperty(global, 'fetch', { value: fetchImpl, writable: false, configurable: false });

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
      check(opDeny(capText(formatValue(reason))));
    },
    log,
    state: {
      set(key, value) {
        check(opStateSet(typeof key === 'string' ? capText(key) : '', capText(toJsonText(value))));
      },
    },
    user: {
      setAppMetadata(patch) {
        const text = isPlainObject(patch) ? toJsonText(patch) : 'null';
        check(opSetAppMetadata(capText(text)));
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
        check(opSetClaim(typeof name === 'string' ? capText(name) : '', capText(toJsonText(value))));
      },
    },
    fetch: fetchImpl,
  });

  // --- Modules --------------------------------------------------------------------------------

  const moduleEntries = new MapCtor();
  let actionFactory = null;
  let actionModule = null;

  // Files of vendored npm packages, by id; each resolves `require` only through the table
  // Rust computed for it (release::npm), so a package reaches nothing but its locked files.
  const fileEntries = new MapCtor();
  const tableLookup = (table, text) =>
    (table !== null && ObjectHasOwn(table, text) ? table[text] : undefined);

  const loadFile = (id) => {
    const entry = ReflectApply(MapPrototypeGet, fileEntries, [id]);
    if (entry === undefined) throw new ErrorCtor(`package file '${id}' is not loaded`);
    if (entry.module !== null) return entry.module.exports;
    const module = { exports: {} };
    entry.module = module;
    try {
      ReflectApply(entry.factory, undefined, [module.exports, entry.require, module]);
    } catch (error) {
      entry.module = null;
      throw error;
    }
    return module.exports;
  };

  const fileRequire = (table) => function require(specifier) {
    const text = StringCtor(specifier);
    const id = tableLookup(table, text);
    if (id === undefined) {
      throw new ErrorCtor(
        `require('${text}') is not available here: a vendored package requires only its own files and the packages its module declares`,
      );
    }
    return loadFile(id);
  };

  const moduleRequire = (table) => function require(specifier) {
    const text = StringCtor(specifier);
    const id = tableLookup(table, text);
    if (id !== undefined) return loadFile(id);
    return requireModule(text);
  };

  const requireModule = function require(specifier) {
    const text = StringCtor(specifier);
    if (!ReflectApply(StringPrototypeStartsWith, text, ['actions:'])) {
      throw new ErrorCtor(
        `require('${text}') is not available in custom actions: only modules attached to the action can be required, as require('actions:<module>'), and inside a module the npm packages it declares`,
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
      ReflectApply(entry.factory, undefined, [
        module.exports, entry.require, module, entry.actions, fetchImpl, consoleObject,
      ]);
    } catch (error) {
      entry.module = null;
      throw error;
    }
    return module.exports;
  };

  // A module's secrets come from the engine, never from the script's source text; `requires`
  // is the table a vendored package's or a module's `require` resolves through.
  const define = (kind, name, factory, requires) => {
    const table = requires === undefined ? null : requires;
    if (kind === 'action') {
      actionFactory = factory;
    } else if (kind === 'file') {
      ReflectApply(MapPrototypeSet, fileEntries, [StringCtor(name), {
        factory,
        module: null,
        require: fileRequire(table),
      }]);
    } else {
      const secrets = JSONParse(opModuleSecrets(StringCtor(name)));
      ReflectApply(MapPrototypeSet, moduleEntries, [StringCtor(name), {
        factory,
        module: null,
        require: moduleRequire(table),
        actions: deepFreeze({ __proto__: null, secrets: defineAll({ __proto__: null }, secrets) }),
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

  const invoke = async (entry, event, api) => {
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
    textCap = input.text_cap;
    seedRandom(input.seed[0], input.seed[1]);
    metadata.view = emptyView;
    const event = buildEvent(input.event, metadata);
    let report;
    try {
      report = await invoke(input.entry, event, api);
    } catch (error) {
      report = describe('rejected', error);
    }
    opFinish(report.kind, capText(report.message), capText(report.stack));
  };
})(globalThis);
