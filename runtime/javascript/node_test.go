package javascript

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"wasmbox/runtime"
)

func TestMain(m *testing.M) {
	// Guests see UTC (cmd/wasmbox sets the same); node runs with TZ=UTC below.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// nodePrograms run under wasmbox and under node; stdout must match byte for byte.
var nodePrograms = []struct{ name, code string }{
	{"console.log mixed", `console.log([1, 2], { a: 1 }, 'str', 42, true, null, undefined)`},
	{"nested objects and depth", `console.log({ a: { b: { c: { d: 1 } } }, arr: [[1, [2, [3, [4]]]]] })`},
	{"strings quoted inside", `console.log(['it\'s', "say \"hi\"", 'tab\there', 'new\nline'], { 'key-with-dash': 1, valid_id: 2, 3: 'three' })`},
	{"numbers", `console.log(-0, 0, 1e21, 1.5, NaN, -Infinity, 0.1 + 0.2, [ -0 ], 2 ** 53)`},
	{"bigint", `console.log(10n, [2n ** 64n], { big: -5n }, typeof 1n)`},
	{"map and set", `console.log(new Map([['a', 1], ['b', { c: 2 }]]), new Set([1, 'two', [3]]), new Map(), new Set())`},
	{"date fixed", `const d = new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 250)); console.log(d, [d], d.toISOString(), d.getTime(), JSON.stringify({ d }))`},
	{"date local in UTC", `const d = new Date(2020, 0, 15, 8, 5); console.log(d.getHours(), d.getTimezoneOffset(), d.toISOString())`},
	{"functions and classes", `function named() {} class Foo {} class Bar extends Foo {} console.log(named, () => {}, Foo, Bar, [named], { f: named }, async function af() {}, function* gen() {})`},
	{"class instances", `class Point { constructor(x, y) { this.x = x; this.y = y; } } console.log(new Point(1, 2), [new Point(3, 4)]); class Empty {} console.log(new Empty())`},
	{"closures", `function counter() { let n = 0; return () => ++n; } const c = counter(); c(); c(); console.log(c(), typeof counter)`},
	{"generators", `function* fib() { let [a, b] = [0, 1]; for (;;) { yield a; [a, b] = [b, a + b]; } } const out = []; for (const x of fib()) { if (x > 50) break; out.push(x); } console.log(out)`},
	{"destructuring and spread", `const { a, b: { c = 5 } = {}, ...rest } = { a: 1, d: 4, e: 5 }; const [x, , y = 9, ...zs] = [1, 2, undefined, 4, 5]; console.log(a, c, rest, x, y, zs, [...'abc'], { ...rest, z: 0 })`},
	{"regex", `const m = '2024-03-15'.match(/(?<y>\d{4})-(?<m>\d{2})-(?<d>\d{2})/); console.log(m.groups.y, m.groups.d, 'a1b2c3'.replace(/\d/g, (d) => d * 2), /ab+c/gi, 'x'.padStart(3, '-'), [...'a,b;c'.split(/[,;]/)])`},
	{"json", `const o = { s: 'x', n: 1, arr: [1, { b: null }], u: undefined }; console.log(JSON.stringify(o), JSON.stringify(o, null, 2)); console.log(JSON.parse('{"a":[1,2,{"b":true}]}'))`},
	{"string methods", `const s = '  Hello, World  '; console.log(s.trim().toUpperCase(), s.includes('World'), s.trim().split(', '), 'abc'.at(-1), 'a-b-c'.replaceAll('-', '+'), 'ß'.toUpperCase(), 'abc'.localeCompare('abd'))`},
	{"labelled loops", `outer: for (let i = 0; i < 3; i++) { for (let j = 0; j < 3; j++) { if (j === 1) continue outer; if (i === 2) break outer; console.log(i, j); } }`},
	{"getters and setters", `const o = { _v: 1, get v() { return this._v; }, set v(x) { this._v = x * 2; } }; o.v = 5; console.log(o.v, o); const w = { get only() { return 1; } }; console.log(w); console.log(Object.defineProperty({}, 'ws', { set(x) {}, enumerable: true }))`},
	{"symbol", `const s = Symbol('tag'); const o = { [s]: 1, plain: 2 }; console.log(s, o, s.toString(), s.description, Symbol.for('k') === Symbol.for('k'), [Symbol()])`},
	{"proxy", `const p = new Proxy({}, { get: (t, k) => k === 'hello' ? 'world' : undefined, has: () => true }); console.log(p.hello, 'x' in p, p.other)`},
	{"tagged templates", "function tag(strings, ...vals) { return strings.raw.join('|') + ':' + vals.join(','); } const n = 3; console.log(tag`a${n}b${n * 2}c`, `multi ${'line'}`, String.raw`\\n`)"},
	{"microtasks vs timers", `setTimeout(() => console.log('timeout 0'), 0); setTimeout(() => console.log('timeout 10'), 10); Promise.resolve().then(() => console.log('micro 1')).then(() => console.log('micro 2')); queueMicrotask(() => console.log('queueMicrotask')); console.log('sync');`},
	{"async await order", `async function f() { console.log('f start'); await null; console.log('f after await'); return 'f done'; } f().then(console.log); console.log('after call'); (async () => { await new Promise((r) => setTimeout(r, 5)); console.log('after 5ms'); })();`},
	{"intervals", `let n = 0; const id = setInterval(() => { n++; console.log('tick', n); if (n === 3) clearInterval(id); }, 1); const t = setTimeout(() => console.log('never'), 5); clearTimeout(t);`},
	{"promise combinators", `Promise.all([1, Promise.resolve(2), new Promise((r) => setTimeout(() => r(3), 1))]).then((v) => console.log('all', v)); Promise.allSettled([Promise.reject(new Error('no')), 1]).then((r) => console.log(r.map((x) => x.status))); Promise.race([new Promise((r) => setTimeout(() => r('slow'), 20)), 'fast']).then((v) => console.log('race', v)); Promise.any([Promise.reject(1), Promise.resolve('any')]).then((v) => console.log(v));`},
	{"format directives", `console.log('%s has %d items costing %f (%i%%)', 'cart', 3, 9.99, 42.7); console.log('%j', { a: [1] }); console.log('%o and %O', [1], { b: 2 }); console.log('%s', 'only', 'extra', 5); console.log('%d', '12px', 7n); console.log('100%', 'sure')`},
	{"console streams", `console.info('info'); console.debug('debug'); console.error('to stderr'); console.warn('also stderr'); console.log('log')`},
	{"console.table", `console.table([{ a: 1, b: 'x' }, { a: 2, c: true }]); console.table({ r1: { v: 1 }, r2: { v: 22 } }); console.table([1, 'two'])`},
	{"console.dir and group", `console.dir({ a: { b: { c: { d: 1 } } } }); console.group('G'); console.log('inside'); console.group(); console.log('deeper'); console.groupEnd(); console.groupEnd(); console.log('out')`},
	{"console.count and assert", `console.count(); console.count('x'); console.count(); console.assert(1 === 1, 'not shown'); console.log('done')`},
	{"circular", `const a = { name: 'a' }; a.self = a; const b = [1]; b.push(b); console.log(a, b)`},
	{"arrays misc", `console.log([1, , 3], new Array(3), [undefined, null], Object.assign([1, 2], { extra: true }), Array.from({ length: 3 }, (_, i) => i * i), [[]], [{}])`},
	{"long arrays grouped", `console.log(Array.from({ length: 30 }, (_, i) => i * 7)); console.log(Array.from({ length: 120 }, (_, i) => i)); console.log(['apple', 'banana', 'cherry', 'date', 'elderberry', 'fig', 'grape', 'honeydew'])`},
	{"long objects break lines", `const o = {}; for (let i = 0; i < 8; i++) o['property' + i] = 'value number ' + i; console.log(o); console.log({ short: 1, nested: { list: [1, 2, 3], text: 'a fairly long string value here' } })`},
	{"typed arrays and boxed", `console.log(new Uint8Array([1, 2, 3]), new Float64Array(2), [new Int16Array([-1])], new Number(3), new String('s'), new Boolean(false))`},
	{"null prototype and tags", `const o = Object.create(null); o.x = 1; console.log(o, Object.create(null)); class T { get [Symbol.toStringTag]() { return 'Tagged'; } } console.log(new T())`},
	{"errors message only", `try { null.x; } catch (e) { console.log(e instanceof TypeError, e.name); } try { JSON.parse('{'); } catch (e) { console.log(e.name); } const e = new RangeError('bad range'); console.log(e.message, String(e), Object.prototype.toString.call(e))`},
	{"math and number formatting", `console.log(Math.max(3, 7), Math.round(2.5), Math.round(-2.5), (1234.5678).toFixed(2), (0.000001234).toPrecision(2), (255).toString(16), Number('0x1f'), parseInt('08'), Number.MAX_SAFE_INTEGER, 1 / 3)`},
	{"sorting", `const xs = [10, 9, 1, 2, 100]; console.log([...xs].sort(), [...xs].sort((a, b) => a - b), ['b', 'a', 'C'].sort(), [{ n: 2 }, { n: 1 }].sort((a, b) => a.n - b.n))`},
	{"object utilities", `const o = { b: 2, a: 1 }; console.log(Object.keys(o), Object.entries(o), Object.fromEntries([['x', 1]]), Object.freeze({ f: 1 }), Object.getOwnPropertyNames('ab'))`},
	{"map set operations", `const m = new Map(); m.set('k', 1).set({ o: 1 }, [2]); console.log(m.size, [...m.keys()], m.get('k')); const s = new Set([1, 2, 2, 3]); s.delete(1); console.log([...s], s.has(2), new Set('hello'))`},
	{"iterators and entries", `const arr = ['x', 'y']; for (const [i, v] of arr.entries()) console.log(i, v); const it = arr[Symbol.iterator](); console.log(it.next(), it.next(), it.next())`},
	{"optional chaining and nullish", `const o = { a: { b: null } }; console.log(o?.a?.b?.c, o.x?.y, o.a.b ?? 'default', 0 ?? 1, o.f?.(), [1, 2]?.[1])`},
	{"inheritance and super", `class Animal { constructor(n) { this.name = n; } speak() { return this.name + ' makes a sound'; } } class Dog extends Animal { speak() { return super.speak() + ' (woof)'; } static create() { return new Dog('Rex'); } } console.log(Dog.create().speak(), new Dog('d') instanceof Animal, Object.getPrototypeOf(Dog) === Animal, new Dog('x'))`},
	{"getter class and private", `class Acc { #bal = 0; deposit(x) { this.#bal += x; return this; } get balance() { return this.#bal; } } const a = new Acc().deposit(5).deposit(7); console.log(a.balance, a)`},
	{"reduce and higher order", `const words = ['apple', 'bob', 'civic', 'dad']; const pal = words.filter((w) => w === [...w].reverse().join('')); const byLen = words.reduce((m, w) => ({ ...m, [w.length]: [...(m[w.length] || []), w] }), {}); console.log(pal, byLen, words.flatMap((w) => [w[0]]), [[1, [2]], [3]].flat(Infinity))`},
	{"statistics example", `const data = [2, 4, 4, 4, 5, 5, 7, 9]; const mean = data.reduce((a, b) => a + b) / data.length; const sd = Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length); console.log({ mean, sd, min: Math.min(...data), max: Math.max(...data) })`},
	{"structuredClone and URL", `const src = { d: new Date(0), m: new Map([[1, { deep: [1] }]]) }; const c = structuredClone(src); console.log(c, c.m.get(1) !== src.m.get(1)); const u = new URL('https://example.com:8080/p/a?x=1&y=two#h'); console.log(u.hostname, u.port, u.pathname, u.searchParams.get('y'), u.hash)`},
	{"number toLocaleString", `console.log((1234567.891).toLocaleString(), (0).toLocaleString(), (-9876.5).toLocaleString('en-US'), (1e21).toLocaleString === undefined)`},
	{"text encoding base64", `const bytes = new TextEncoder().encode('héllo €'); console.log(bytes.length, new TextDecoder().decode(bytes), btoa('wasmbox'), atob('d2FzbWJveA=='))`},
}

func TestNodeParity(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the parity table needs it to compare against")
	}
	e, _ := New(runtime.JavaScript)
	dir := t.TempDir()
	for _, p := range nodePrograms {
		t.Run(p.name, func(t *testing.T) {
			file := filepath.Join(dir, "prog.js")
			os.WriteFile(file, []byte(p.code), 0o644)
			cmd := exec.Command(node, file)
			cmd.Env = []string{"TZ=UTC", "PATH=" + os.Getenv("PATH")}
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("node: %v", err)
			}
			ip, _ := e.New(context.Background(), dir)
			defer ip.Close()
			// Wrapped in a block so the completion value of the last statement is not printed:
			// node running a file prints nothing but what the program logs.
			res, err := ip.Run(context.Background(), runtime.Request{Code: p.code + "\n;undefined"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Error != nil {
				t.Fatalf("error %+v\n%s", res.Error, res.Stderr)
			}
			if res.Stdout != string(want) {
				t.Errorf("stdout differs from node's\n--- wasmbox ---\n%s--- node ---\n%s", res.Stdout, want)
			}
		})
	}
	if len(nodePrograms) < 40 {
		t.Errorf("only %d programs, want at least 40", len(nodePrograms))
	}
}
