package python

import "testing"

// For the external tests (package python_test), which reach the sandbox through a front as a
// client does and compare with native CPython.
var (
	SharedEngine = engine
	NativePython = nativePython
	TestInputs   = testInputs
	PNGRMS       = pngRMS
	Tail         = tail
	RaceEnabled  = raceEnabled
)

// RunNative runs code as the script file name in dir with the native CPython python and the
// packages native-analysis.sh laid out in site, and returns its transcript (stdout, then the
// exception it ended with).
func RunNative(t *testing.T, python, site, dir, name, code string) string {
	return nativeAnalysis{python: python, site: site}.run(t, dir, name, code)
}
