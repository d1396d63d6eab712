package python

import (
	"errors"

	"github.com/tetratelabs/wazero/sys"
)

func asExit(err error) (uint32, bool) {
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), true
	}
	return 0, false
}

// isTrap reports whether the guest died of a trap (or was killed) rather than calling exit.
func isTrap(err error) bool {
	_, ok := asExit(err)
	return err != nil && !ok
}
