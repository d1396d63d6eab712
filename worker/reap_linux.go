package worker

import (
	"os"

	"golang.org/x/sys/unix"

	"wasmbox/internal/spawn"
)

// canKillAll reports whether kill(-1) from the spawning thread reaches exactly the worker's
// programs: as PID 1 of its own PID namespace, or where Landlock scopes its signals (see
// [checkScopedKill]). Elsewhere kill(-1) would reach every process of the uid: it is never
// sent, and only the programs' process groups end with a run.
func canKillAll() bool { return os.Getpid() == 1 || scopedKill.Load() }

// StopAll kills every process the worker's programs started, wherever they went (their own
// process group, a new session), but not the worker itself; [afterRun] reaps them.
func StopAll() {
	if canKillAll() {
		spawn.Do(func() { unix.Kill(-1, unix.SIGKILL) }) // from the thread that started them
	}
}

// afterRun ends whatever a run left behind: kill(-1) from PID 1 of the worker's PID namespace,
// or from the spawning thread whose signals Landlock scopes to its own programs, reaches every
// one of them, including the ones that left their process group with setsid. Orphans are the
// worker's (PID 1, or the child subreaper) and are reaped here.
func afterRun() {
	if !canKillAll() {
		return
	}
	spawn.Do(func() { unix.Kill(-1, unix.SIGKILL) })
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
