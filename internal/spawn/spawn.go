// Package spawn runs process starts and signals on one OS thread. Landlock gives each thread
// that restricts itself a domain of its own, and its signal scoping lets a thread signal only
// processes in its own domain: a child started on one thread cannot be killed from another.
// Starting every child and sending every signal from the same locked thread keeps both in one
// domain.
package spawn

import (
	"runtime"
	"sync"
)

var (
	once  sync.Once
	calls chan func()
)

func loop() {
	runtime.LockOSThread() // never unlocked: this thread lives as long as the process
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
