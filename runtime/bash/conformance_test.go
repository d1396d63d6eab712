package bash

import (
	"testing"

	"wasmbox/runtime/runtimetest"
)

func TestEngine_conformance(t *testing.T) {
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	runtimetest.TestEngine(t, e)
}
