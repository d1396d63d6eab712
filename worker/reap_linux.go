package worker

import (
	"os"

	"golang.org/x/sys/unix"

	"wasmbox/internal/spawn"
)

// StopAll kills every process in the worker's PID namespace but the worker itself (only when
// the worker is PID 1 there); [afterRun] reaps them.
func StopAll() {
	if os.Getpid() == 1 {
		spawn.Do(func() { unix.Kill(-1, unix.SIGKILL) }) // from the thread that started them
	}
}

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
