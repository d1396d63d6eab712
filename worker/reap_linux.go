package worker

import (
	"os"

	"golang.org/x/sys/unix"

	"wasmbox/internal/spawn"
)

// afterRun ends whatever a run left behind. In its own PID namespace the worker is PID 1:
// kill(-1) then reaches every process in the namespace but the worker itself, including the
// ones that left their process group with setsid, and orphans are reaped here.
func afterRun() {
	if os.Getpid() != 1 {
		return
	}
	spawn.Do(func() { unix.Kill(-1, unix.SIGKILL) }) // from the thread that started them
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
