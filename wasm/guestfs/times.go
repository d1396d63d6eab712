package guestfs

import (
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// resolveTimes turns WASI's (atim, mtim), which may say "leave as is", into times for Chtimes.
func resolveTimes(st sys.Stat_t, atim, mtim int64) (time.Time, time.Time) {
	if atim == experimentalsys.UTIME_OMIT {
		atim = st.Atim
	}
	if mtim == experimentalsys.UTIME_OMIT {
		mtim = st.Mtim
	}
	return time.Unix(0, atim), time.Unix(0, mtim)
}
