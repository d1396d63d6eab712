package javascript

import (
	"testing"

	"wasmbox/runtime"
	"wasmbox/runtime/runtimetest"
)

func TestEngine_conformance(t *testing.T) {
	for _, lang := range []runtime.Language{runtime.JavaScript, runtime.TypeScript} {
		t.Run(string(lang), func(t *testing.T) {
			e, err := New(lang)
			if err != nil {
				t.Fatal(err)
			}
			runtimetest.TestEngine(t, e)
		})
	}
}
