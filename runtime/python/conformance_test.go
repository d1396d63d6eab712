package python

import (
	"testing"

	"wasmbox/runtime/runtimetest"
)

func TestEngine_conformance(t *testing.T) { runtimetest.TestEngine(t, engine(t)) }
