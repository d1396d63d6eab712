package worker

import (
	"fmt"
	"os"
)

// ABIProbeCommand is a hidden subcommand that loads the worker's seccomp filters and then makes
// one syscall through a foreign ABI: "i386" (int 0x80) or "x32". The filters must kill it with
// SIGSYS before it prints anything; tests run it to prove that.
const ABIProbeCommand = "__worker-abi-probe"

// ABIProbe is the body of [ABIProbeCommand].
func ABIProbe(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmbox "+ABIProbeCommand+" i386|x32|native")
		return 2
	}
	if err := loadSeccompAllThreads(); err != nil {
		fmt.Fprintln(os.Stderr, "seccomp:", err)
		return 1
	}
	r, ok := foreignSyscall(args[0])
	if !ok {
		fmt.Fprintf(os.Stderr, "%s syscalls do not exist on this architecture\n", args[0])
		return 3
	}
	fmt.Printf("survived: %s getpid returned %d\n", args[0], r)
	return 0
}

func loadSeccompAllThreads() error {
	if err := noNewPrivs(); err != nil {
		return err
	}
	return loadSeccomp()
}
