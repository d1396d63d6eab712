// Command wasmbox runs untrusted Python, JavaScript, TypeScript and bash for AI agents, each in
// an isolation boundary, and serves it over MCP.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"wasmbox/runtime/bash"
	"wasmbox/worker"
)

func main() {
	// The bash launcher and probe: wasmbox re-executed to confine one program (see runtime/bash).
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case bash.LauncherCommand:
			os.Exit(bash.Launch(os.Args[2:]))
		case bash.ProbeCommand:
			os.Exit(bash.RunProbe(os.Args[2:]))
		case worker.ABIProbeCommand:
			os.Exit(worker.ABIProbe(os.Args[2:]))
		case worker.ExecProbeCommand:
			os.Exit(worker.ExecProbe(os.Args[2:]))
		case worker.Command:
			time.Local = time.UTC
			os.Exit(worker.Main(context.Background(), buildEngines))
		}
	}
	// JavaScript's Date (goja) reads time.Local: guests see UTC, never the host's zone.
	time.Local = time.UTC
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the first signal starts a graceful shutdown; a second one kills the process
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
