// wasmbox's JavaScript prelude: node-style value formatting (util.inspect and util.format),
// console, structuredClone and queueMicrotask, written against goja. It runs once per
// interpreter before user code; `host` holds the Go side (output, timers, promise state).
(function (global, host) {
  'use strict';
  const identRe = /^[a-zA-Z_$][a-zA-Z_$0-9]*$/;
  const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const objToString = (v) => Object.prototype.toString.call(v);

  // String quoting as node prints strings nested in objects.
  function quote(s) {
    let q = "'";
    if (s.includes("'")) {
      if (!s.includes('"')) q = '"';
      else if (!s.includes('`') && !s.includes('${')) q = '`';
    }
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      const code = s.charCodeAt(i);
      if (c === q || c === '\\') out += '\\' + c;
      else if (c === '\n') out += '\\n';
      else if (c === '\t') out += '\\t';
      else if (c === '\r') out += '\\r';
      else if (c === '\b') out += '\\b';
      else if (c === '\f') out += '\\f';
      else if (code === 11) out += '\\x0B';
      else if (code < 32 || code === 127) out += '\\x' + code.toString(16).toUpperCase().padStart(2, '0');
      else out += c;
    }
    return q + out + q;
  }

  function formatNumber(n) {
    return Object.is(n, -0) ? '-0' : String(n);
  }

  function formatPrimitive(v) {
    switch (typeof v) {
      case 'string': return quote(v);
      case 'number': return formatNumber(v);
      case 'bigint': return String(v) + 'n';
      case 'boolean': return String(v);
      case 'undefined': return 'undefined';
      case 'symbol': return String(v);
    }
    return 'null';
  }

  function fnKind(f) {
    const ctor = Object.getPrototypeOf(f) && Object.getPrototypeOf(f).constructor;
    const cname = ctor && ctor.name;
    if (cname === 'AsyncFunction' || cname === 'GeneratorFunction' || cname === 'AsyncGeneratorFunction') return cname;
    return 'Function';
  }

  function isClass(f) {
    try {
      return /^class[\s{]/.test(Function.prototype.toString.call(f));
    } catch (e) {
      return false;
    }
  }

  function fnBase(f) {
    if (isClass(f)) {
      let s = '[class ' + (f.name || '(anonymous)');
      const sup = Object.getPrototypeOf(f);
      if (sup && sup !== Function.prototype && sup.name) s += ' extends ' + sup.name;
      return s + ']';
    }
    const kind = fnKind(f);
    return f.name ? '[' + kind + ': ' + f.name + ']' : '[' + kind + ' (anonymous)]';
  }

  function ctorName(o) {
    let proto = Object.getPrototypeOf(o);
    if (proto === null) return null;
    while (proto) {
      const d = Object.getOwnPropertyDescriptor(proto, 'constructor');
      if (d && typeof d.value === 'function' && d.value.name !== '') return d.value.name;
      proto = Object.getPrototypeOf(proto);
    }
    return '';
  }

  function formatKey(k) {
    if (typeof k === 'symbol') return '[' + String(k) + ']';
    return identRe.test(k) ? k : quote(k);
  }

  function isError(v) {
    return v instanceof Error || objToString(v) === '[object Error]';
  }

  function errorText(e, ctx) {
    let stack = typeof e.stack === 'string' && e.stack ? e.stack : '';
    const name = e.name || 'Error';
    const msg = e.message;
    let head = msg ? name + ': ' + msg : name;
    if (!stack) return '[' + head + ']';
    // goja indents frames with a tab and adds a bytecode offset; node does neither.
    stack = stack.replace(/\n\t/g, '\n    ').replace(/:(\d+):(\d+)\(\d+\)/g, ':$1:$2').replace(/\n+$/, '');
    if (ctx.indentationLvl) {
      const ind = ' '.repeat(ctx.indentationLvl);
      stack = stack.replace(/\n/g, '\n' + ind);
    }
    return stack;
  }

  const typedArrayNames = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];
  function typedArrayName(v) {
    for (const n of typedArrayNames) {
      if (typeof global[n] === 'function' && v instanceof global[n]) return n;
    }
    return null;
  }

  function inspect(value, opts) {
    const ctx = {
      seen: [], circular: new Map(), indentationLvl: 0, currentDepth: 0,
      depth: 2, breakLength: 80, compact: 3, maxArrayLength: 100, showHidden: false,
    };
    if (opts) Object.assign(ctx, opts);
    return formatValue(ctx, value, 0, true);
  }

  function formatValue(ctx, v, recurseTimes, top) {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return formatPrimitive(v);
    if (ctx.seen.includes(v)) {
      let idx = ctx.circular.get(v);
      if (idx === undefined) {
        idx = ctx.circular.size + 1;
        ctx.circular.set(v, idx);
      }
      return '[Circular *' + idx + ']';
    }
    return formatRaw(ctx, v, recurseTimes);
  }

  function formatRaw(ctx, v, recurseTimes) {
    let keys;
    try {
      keys = ctx.showHidden ? Object.getOwnPropertyNames(v) : Object.keys(v);
      for (const s of Object.getOwnPropertySymbols(v)) {
        const d = Object.getOwnPropertyDescriptor(v, s);
        if (d && (d.enumerable || ctx.showHidden)) keys.push(s);
      }
    } catch (e) {
      keys = [];
    }
    const cname = ctorName(v);
    let prefixName = cname;
    let braces;
    let base = '';
    let formatter = null;
    let extrasArray = false;
    let noEntries = false;
    const nullProto = cname === null;
    const tagPrefix = (fallback, size) => {
      const name = nullProto ? '[' + fallback + ': null prototype]' : (cname || fallback);
      return size === undefined ? name : name + '(' + size + ')';
    };

    if (Array.isArray(v)) {
      const p = (cname === 'Array') ? '' : tagPrefix('Array', v.length) + ' ';
      keys = keys.filter((k) => typeof k === 'symbol' || !/^(0|[1-9][0-9]*)$/.test(k));
      braces = [p + '[', ']'];
      extrasArray = true;
      if (v.length === 0 && keys.length === 0) return braces[0] + ']';
      formatter = () => formatArray(ctx, v, recurseTimes);
    } else if (v instanceof Map) {
      braces = [tagPrefix('Map', v.size) + ' {', '}'];
      if (v.size === 0 && keys.length === 0) return braces[0] + '}';
      formatter = () => { const out = []; v.forEach((val, k) => out.push(formatValue(ctx, k, recurseTimes + 1) + ' => ' + formatValue(ctx, val, recurseTimes + 1))); return out; };
    } else if (v instanceof Set) {
      braces = [tagPrefix('Set', v.size) + ' {', '}'];
      if (v.size === 0 && keys.length === 0) return braces[0] + '}';
      formatter = () => { const out = []; v.forEach((val) => out.push(formatValue(ctx, val, recurseTimes + 1))); return out; };
    } else if (typedArrayName(v)) {
      const n = typedArrayName(v);
      keys = keys.filter((k) => typeof k === 'symbol' || !/^(0|[1-9][0-9]*)$/.test(k));
      braces = [(cname === n ? n : tagPrefix(n)) + '(' + v.length + ') [', ']'];
      extrasArray = true;
      if (v.length === 0 && keys.length === 0) return braces[0] + ']';
      formatter = () => {
        const out = [];
        const max = Math.min(v.length, ctx.maxArrayLength);
        for (let i = 0; i < max; i++) out.push(typeof v[i] === 'bigint' ? String(v[i]) + 'n' : formatNumber(v[i]));
        if (v.length > max) out.push('... ' + (v.length - max) + ' more item' + (v.length - max > 1 ? 's' : ''));
        return out;
      };
    } else if (typeof v === 'function') {
      base = fnBase(v);
      keys = keys.filter((k) => k !== 'prototype');
      if (keys.length === 0) return base;
      braces = ['{', '}'];
    } else if (v instanceof RegExp) {
      base = RegExp.prototype.toString.call(v);
      if (keys.length === 0) return base;
      braces = ['{', '}'];
    } else if (v instanceof Date) {
      base = isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
      if (keys.length === 0) return base;
      braces = ['{', '}'];
    } else if (isError(v)) {
      base = errorText(v, ctx);
      keys = keys.filter((k) => k !== 'stack' && k !== 'message');
      if (keys.length === 0) return base;
      braces = ['{', '}'];
    } else if (v instanceof Promise) {
      const st = host.promiseState(v);
      braces = ['Promise {', '}'];
      formatter = () => {
        if (st[0] === 'pending') return ['<pending>'];
        const val = formatValue(ctx, st[1], recurseTimes + 1);
        return [st[0] === 'rejected' ? '<rejected> ' + val : val];
      };
    } else if (v instanceof WeakMap || v instanceof WeakSet) {
      return (v instanceof WeakMap ? 'WeakMap' : 'WeakSet') + ' { <items unknown> }';
    } else if (v instanceof Number || v instanceof String || v instanceof Boolean) {
      const t = v instanceof Number ? 'Number' : v instanceof String ? 'String' : 'Boolean';
      base = '[' + t + ': ' + formatPrimitive(v.valueOf()) + ']';
      if (v instanceof String) keys = keys.filter((k) => !/^(0|[1-9][0-9]*)$/.test(k) && k !== 'length');
      if (keys.length === 0) return base;
      braces = ['{', '}'];
    } else if (typeof ArrayBuffer === 'function' && v instanceof ArrayBuffer) {
      const bytes = new Uint8Array(v);
      const hex = [];
      for (let i = 0; i < Math.min(bytes.length, 50); i++) hex.push(bytes[i].toString(16).padStart(2, '0'));
      const more = bytes.length > 50 ? ' ... ' + (bytes.length - 50) + ' more bytes' : '';
      braces = ['ArrayBuffer {', '}'];
      formatter = () => ['[Uint8Contents]: <' + hex.join(' ') + more + '>', 'byteLength: ' + v.byteLength];
    } else {
      if (v === global) return 'Object [global] {...}';
      const tag = v[Symbol.toStringTag];
      let p = nullProto ? '[Object: null prototype] ' : (cname === 'Object' ? '' : (cname ? cname + ' ' : ''));
      if (typeof tag === 'string' && tag !== '' && tag !== cname) p = (cname || 'Object') + ' [' + tag + '] ';
      braces = [p + '{', '}'];
      if (keys.length === 0) return p + '{}';
    }

    if (recurseTimes > ctx.depth) {
      if (Array.isArray(v)) return '[Array]';
      return '[' + (nullProto ? 'Object: null prototype' : (cname || 'Object')) + ']';
    }

    ctx.seen.push(v);
    ctx.currentDepth = recurseTimes;
    let output;
    try {
      output = formatter ? formatter() : [];
      for (const k of keys) output.push(formatProperty(ctx, v, recurseTimes, k, extrasArray));
    } finally {
      ctx.seen.pop();
    }
    const ref = ctx.circular.get(v);
    if (ref !== undefined) {
      const r = '<ref *' + ref + '>';
      if (base) base = r + ' ' + base;
      else braces[0] = r + ' ' + braces[0];
    }
    return reduceToSingleString(ctx, output, base, braces, extrasArray, recurseTimes, v);
  }

  function formatArray(ctx, v, recurseTimes) {
    const out = [];
    const max = Math.min(v.length, ctx.maxArrayLength);
    let holes = 0;
    const flushHoles = () => {
      if (holes) out.push('<' + holes + ' empty item' + (holes > 1 ? 's' : '') + '>');
      holes = 0;
    };
    for (let i = 0; i < max; i++) {
      if (!hasOwn(v, i)) { holes++; continue; }
      flushHoles();
      out.push(formatProperty(ctx, v, recurseTimes, i, true, true));
    }
    flushHoles();
    if (v.length > max) out.push('... ' + (v.length - max) + ' more item' + (v.length - max > 1 ? 's' : ''));
    return out;
  }

  function formatProperty(ctx, v, recurseTimes, key, inArray, valueOnly) {
    const d = Object.getOwnPropertyDescriptor(v, key) || { value: v[key], enumerable: true };
    let str;
    if (d.value !== undefined || !('get' in d || 'set' in d)) {
      const diff = ctx.compact !== true ? 2 : 3;
      ctx.indentationLvl += diff;
      str = formatValue(ctx, d.value, recurseTimes + 1);
      ctx.indentationLvl -= diff;
    } else if (d.get !== undefined) {
      str = d.set !== undefined ? '[Getter/Setter]' : '[Getter]';
    } else if (d.set !== undefined) {
      str = '[Setter]';
    } else {
      str = 'undefined';
    }
    if (valueOnly) return str;
    if (d.enumerable === false) return '[' + (typeof key === 'symbol' ? String(key) : key) + ']: ' + str;
    return formatKey(key) + ': ' + str;
  }

  function isBelowBreakLength(ctx, output, start, base) {
    let total = output.length + start;
    if (total + output.length > ctx.breakLength) return false;
    for (const o of output) {
      total += o.length;
      if (total > ctx.breakLength) return false;
    }
    return base === '' || !base.includes('\n');
  }

  function reduceToSingleString(ctx, output, base, braces, extrasArray, recurseTimes, value) {
    const entries = output.length;
    if (extrasArray && entries > 6) output = groupArrayElements(ctx, output, value);
    if (ctx.currentDepth - recurseTimes < ctx.compact && entries === output.length) {
      const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;
      if (isBelowBreakLength(ctx, output, start, base)) {
        const joined = output.join(', ');
        if (!joined.includes('\n')) {
          return (base ? base + ' ' : '') + braces[0] + ' ' + joined + ' ' + braces[1];
        }
      }
    }
    const ind = '\n' + ' '.repeat(ctx.indentationLvl);
    return (base ? base + ' ' : '') + braces[0] + ind + '  ' + output.join(',' + ind + '  ') + ind + braces[1];
  }

  // Lays out long arrays of short entries in aligned columns, as node does.
  function groupArrayElements(ctx, output, value) {
    let total = 0;
    let maxLen = 0;
    let outLen = output.length;
    if (value && value.length > ctx.maxArrayLength && outLen > 0) outLen--;
    const sep = 2;
    const lens = [];
    for (let i = 0; i < outLen; i++) {
      const len = output[i].length;
      lens.push(len);
      total += len + sep;
      if (len > maxLen) maxLen = len;
    }
    const actualMax = maxLen + sep;
    if (actualMax * 3 + ctx.indentationLvl < ctx.breakLength && (total / actualMax > 5 || maxLen <= 6)) {
      const averageBias = Math.sqrt(actualMax - total / output.length);
      const biasedMax = Math.max(actualMax - 3 - averageBias, 1);
      const columns = Math.min(
        Math.round(Math.sqrt(2.5 * biasedMax * outLen) / biasedMax),
        Math.floor((ctx.breakLength - ctx.indentationLvl) / actualMax),
        ctx.compact * 4,
        15);
      if (columns <= 1) return output;
      const widths = [];
      for (let i = 0; i < columns; i++) {
        let w = 0;
        for (let j = i; j < output.length; j += columns) if (lens[j] > w) w = lens[j];
        widths.push(w + sep);
      }
      let padStart = true;
      if (value !== undefined) {
        for (let i = 0; i < output.length; i++) {
          if (typeof value[i] !== 'number' && typeof value[i] !== 'bigint') { padStart = false; break; }
        }
      }
      const rows = [];
      for (let i = 0; i < outLen; i += columns) {
        const end = Math.min(i + columns, outLen);
        let line = '';
        let j = i;
        for (; j < end - 1; j++) {
          const cell = output[j] + ', ';
          line += padStart ? cell.padStart(widths[j - i], ' ') : cell.padEnd(widths[j - i], ' ');
        }
        line += padStart ? output[j].padStart(widths[j - i] - sep, ' ') : output[j];
        rows.push(line);
      }
      if (outLen < output.length) rows.push(output[outLen]);
      output = rows;
    }
    return output;
  }

  function hasUserToString(v) {
    let o = v;
    while (o && o !== Object.prototype) {
      if (hasOwn(o, 'toString') && o !== Error.prototype) return true;
      o = Object.getPrototypeOf(o);
    }
    return false;
  }

  // util.format: printf-like directives, then the remaining arguments.
  function format(...args) {
    const first = args[0];
    let out = '';
    let a = 1;
    if (typeof first === 'string') {
      if (args.length === 1) return first;
      let last = 0;
      for (let i = 0; i < first.length - 1; i++) {
        if (first[i] !== '%') continue;
        const c = first[i + 1];
        if (c === '%') { out += first.slice(last, i) + '%'; last = i + 2; i++; continue; }
        if (a >= args.length) continue;
        let rep;
        const arg = args[a];
        switch (c) {
          case 's':
            if (typeof arg === 'bigint') rep = String(arg) + 'n';
            else if (typeof arg === 'number') rep = formatNumber(arg);
            else if (typeof arg === 'symbol') rep = String(arg);
            else if (arg !== null && typeof arg === 'object' && !hasUserToString(arg)) rep = inspect(arg, { depth: 0 });
            else rep = String(arg);
            break;
          case 'd':
            rep = typeof arg === 'bigint' ? String(arg) + 'n' : (typeof arg === 'symbol' || (arg !== null && typeof arg === 'object')) ? 'NaN' : formatNumber(Number(arg));
            break;
          case 'i':
            rep = typeof arg === 'bigint' ? String(arg) + 'n' : typeof arg === 'symbol' ? 'NaN' : formatNumber(parseInt(arg));
            break;
          case 'f':
            rep = typeof arg === 'symbol' ? 'NaN' : formatNumber(parseFloat(arg));
            break;
          case 'j':
            try { rep = JSON.stringify(arg); } catch (e) { rep = '[Circular]'; }
            break;
          case 'o':
            rep = inspect(arg, { showHidden: true, depth: 4 });
            break;
          case 'O':
            rep = inspect(arg);
            break;
          case 'c':
            rep = '';
            break;
          default:
            continue;
        }
        out += first.slice(last, i) + rep;
        last = i + 2;
        i++;
        a++;
      }
      out += first.slice(last);
    } else {
      a = 0;
    }
    for (; a < args.length; a++) {
      const v = args[a];
      out += (out.length || (typeof first === 'string' && a > 0) ? ' ' : '') + (typeof v === 'string' ? v : inspect(v));
    }
    return out;
  }

  let groupIndent = '';
  const counts = new Map();
  const timers = new Map();
  function emit(stream, text) {
    if (groupIndent) text = groupIndent + text.replace(/\n/g, '\n' + groupIndent);
    host.write(stream, text + '\n');
  }
  const log = (...args) => emit(1, format(...args));
  const err = (...args) => emit(2, format(...args));

  function table(data, columns) {
    if (data === null || typeof data !== 'object') return log(data);
    const rowKeys = [];
    const rows = [];
    const colSet = [];
    let hasValues = false;
    const addCol = (c) => { if (!colSet.includes(c)) colSet.push(c); };
    const entries = data instanceof Map ? Array.from(data.entries()) : Object.keys(data).map((k) => [k, data[k]]);
    const isMap = data instanceof Map;
    if (isMap) { rowKeys.push('(iteration index)'); }
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i];
      const row = {};
      if (v !== null && typeof v === 'object') {
        for (const c of Object.keys(v)) { if (!columns || columns.includes(c)) { addCol(c); row[c] = inspect(v[c], { depth: 1, breakLength: Infinity }); } }
      } else {
        hasValues = true;
        row['\u0000values'] = inspect(v);
      }
      rows.push([isMap ? String(i) : String(k), row, isMap ? inspect(k) : null]);
    }
    const header = ['(index)'];
    if (isMap) header.push('Key');
    const cols = columns ? columns.slice() : colSet;
    header.push(...cols);
    if (hasValues) header.push('Values');
    const table = rows.map(([k, row, mapKey]) => {
      const r = [k];
      if (isMap) r.push(mapKey);
      for (const c of cols) r.push(hasOwn(row, c) ? row[c] : '');
      if (hasValues) r.push(hasOwn(row, '\u0000values') ? row['\u0000values'] : '');
      return r;
    });
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)) + 2);
    const line = (l, m, r) => l + widths.map((w) => '─'.repeat(w)).join(m) + r;
    const render = (cells) => '│' + cells.map((c, i) => ' ' + c + ' '.repeat(widths[i] - c.length - 1)).join('│') + '│';
    const out = [line('┌', '┬', '┐'), render(header), line('├', '┼', '┤'), ...table.map(render), line('└', '┴', '┘')];
    emit(1, out.join('\n'));
  }

  const console = {
    log, info: log, debug: log,
    warn: err, error: err, trace: (...args) => err('Trace' + (args.length ? ': ' + format(...args) : '') + '\n' + String(new Error().stack).split('\n').slice(2).join('\n').replace(/\t/g, '    ')),
    dir: (v, o) => emit(1, inspect(v, o)),
    table,
    assert: (cond, ...args) => { if (!cond) err(args.length ? 'Assertion failed: ' + format(...args) : 'Assertion failed'); },
    count: (label = 'default') => { const n = (counts.get(label) || 0) + 1; counts.set(label, n); log(label + ': ' + n); },
    countReset: (label = 'default') => { counts.delete(label); },
    group: (...args) => { if (args.length) log(...args); groupIndent += '  '; },
    groupEnd: () => { groupIndent = groupIndent.slice(2); },
    time: (label = 'default') => { timers.set(label, host.now()); },
    timeEnd: (label = 'default') => { const t = timers.get(label); if (t !== undefined) { log(label + ': ' + (host.now() - t).toFixed(3) + 'ms'); timers.delete(label); } },
    timeLog: (label = 'default', ...args) => { const t = timers.get(label); if (t !== undefined) log(label + ': ' + (host.now() - t).toFixed(3) + 'ms', ...args); },
  };
  console.groupCollapsed = console.group;

  function structuredClone(value) {
    const seen = new Map();
    const clone = (v) => {
      if (v === null || typeof v !== 'object') {
        if (typeof v === 'function' || typeof v === 'symbol') throw new TypeError(String(v) + ' could not be cloned.');
        return v;
      }
      if (seen.has(v)) return seen.get(v);
      let out;
      if (Array.isArray(v)) { out = []; seen.set(v, out); v.forEach((x, i) => { out[i] = clone(x); }); return out; }
      if (v instanceof Date) return new Date(v.getTime());
      if (v instanceof RegExp) return new RegExp(v.source, v.flags);
      if (v instanceof Map) { out = new Map(); seen.set(v, out); v.forEach((x, k) => out.set(clone(k), clone(x))); return out; }
      if (v instanceof Set) { out = new Set(); seen.set(v, out); v.forEach((x) => out.add(clone(x))); return out; }
      if (typeof ArrayBuffer === 'function' && v instanceof ArrayBuffer) return v.slice(0);
      const ta = typedArrayName(v);
      if (ta) return new global[ta](v);
      if (isError(v)) { const e = new (global[v.name] || Error)(v.message); seen.set(v, e); return e; }
      out = {};
      seen.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    };
    return clone(value);
  }

  // goja has no Intl, and its Number.prototype.toLocaleString takes the locale for a radix.
  // Format as en-US does: grouped thousands, at most three fraction digits.
  Object.defineProperty(Number.prototype, 'toLocaleString', {
    value: function toLocaleString() {
      const n = Number(this);
      if (!isFinite(n)) return n === Infinity ? '∞' : n === -Infinity ? '-∞' : 'NaN';
      const [int, frac] = Math.abs(n).toFixed(3).replace(/\.?0+$/, '').split('.');
      const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
      return (n < 0 && !Object.is(n, -0) ? '-' : '') + grouped + (frac ? '.' + frac : '');
    },
    writable: true, configurable: true,
  });

  Object.defineProperty(global, 'console', { value: console, writable: true, configurable: true });
  global.structuredClone = structuredClone;
  global.queueMicrotask = (fn) => {
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function.');
    Promise.resolve().then(fn);
  };
  return { inspect, format };
})
