package javascript

import (
	"context"
	"testing"

	"wasmbox/runtime"
)

func TestQuick(t *testing.T) {
	e, _ := New(runtime.JavaScript)
	ip, err := e.New(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{
		"console.log([1,2], {a:1}, 'str', new Map([['a',1]]), new Set([1]), -0, 10n, undefined, null)",
		"let x = 5; const f = (a) => a * 2",
		"f(x)",
		"console.log('%s is %d years', 'Bob', 42, {z: [1,{y:{w:{v:1}}}]})",
		"await new Promise(r => setTimeout(r, 10)); let y = 7; y * 2",
		"y + 1",
		"setTimeout(() => console.log('t2'), 5); setTimeout(() => console.log('t1'), 1); Promise.resolve().then(() => console.log('micro')); console.log('sync')",
		"throw new Error('boom')",
		"function r(n){return r(n+1)}; r(0)",
		"Promise.reject(new Error('nope'))",
		"console.table([{a:1,b:'x'},{a:2,b:'y'}])",
		"new TextDecoder().decode(new TextEncoder().encode('héllo'))",
		"btoa('hello') + ' ' + atob('aGVsbG8=')",
		"new URL('https://a.b/c?d=1').searchParams.get('d')",
		"structuredClone({a: new Map([[1, {b: 2}]])})",
		"require('fs')",
		"class A { constructor(){ this.q = 1 } }; new A()",
		"Array.from({length: 30}, (_, i) => i)",
	} {
		r, err := ip.Run(context.Background(), runtime.Request{Code: c})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%q\n--stdout--\n%s--stderr--\n%s--err-- %+v", c, r.Stdout, r.Stderr, r.Error)
	}
}
