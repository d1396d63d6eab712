// Package spawn runs process starts and signals on one OS thread. Landlock gives each thread
// that restricts itself a domain of its own, and its signal scoping lets a thread signal only
// processes in its own domain: a child started on one thread cannot be killed from another.
// Starting every child and sending every signal from the same locked thread keeps both in one
// domain.
//
// The thread also runs at a lower priority (nice 10), which its children inherit: programs a
// guest starts never crowd out the worker that watches and stops them.
package spawn

import (
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Nice is the scheduling niceness of every process started through [Do].
const Nice = 10

var (
	once  sync.Once
	calls chan func()
)

func loop() {
	runtime.LockOSThread() // never unlocked: this thread lives as long as the process
	// On Linux the "process" of PRIO_PROCESS 0 is the calling thread.
	unix.Setpriority(unix.PRIO_PROCESS, 0, Nice)
	for f := range calls {
		f()
	}
}

// Do runs f on the spawning thread and waits for it.
func Do(f func()) {
	once.Do(func() {
		calls = make(chan func())
		go loop()
	})
	done := make(chan struct{})
	calls <- func() {
		defer close(done)
		f()
	}
	<-done
}
