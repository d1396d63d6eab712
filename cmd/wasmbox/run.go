package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"wasmbox/runtime"
	"wasmbox/runtime/bash"
	"wasmbox/runtime/python"
	"wasmbox/wasm/cpython"
	"wasmbox/worker"
)

// version is wasmbox's version; release builds set it with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `wasmbox runs untrusted code in a sandbox.

Usage:
  wasmbox serve [--addr :7860] [--data-dir DIR]   serve MCP (streamable HTTP at /mcp, SSE at /sse)
  wasmbox stdio [--data-dir DIR]                  serve MCP over standard input and output
  wasmbox run --lang python|javascript|typescript|bash FILE|-
                                                  run code once; prints stdout and stderr, exits non-zero on any error
  wasmbox version                                 print wasmbox's and CPython's versions
  wasmbox healthcheck [--url URL]                 exit 0 when the server's /healthz answers (for container HEALTHCHECKs)
  wasmbox load [--url URL] [--clients N] [--duration D]   drive a server with N MCP clients; print throughput and latency

Run "wasmbox serve -h" for every setting; each flag has an environment variable twin.

Environment:
  EXECUTION_TIMEOUT   seconds a run may take (default 30)
  MAX_OUTPUT_LENGTH   bytes kept of each of stdout and stderr (default 10000)
  BASH_ALLOWLIST      programs bash code may run (default: a set of text and file tools)
`

// run is main without the process: everything it does is testable.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stdin, stdout, stderr)
	case "version", "--version", "-v":
		return versionCmd(ctx, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve":
		return serveCmd(ctx, args[1:], stdout, stderr)
	case "stdio":
		return stdioCmd(ctx, args[1:], stdin, stdout, stderr)
	case "load":
		return loadCmd(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		return healthCmd(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "wasmbox: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// newBashEngine makes the bash engine with BASH_ALLOWLIST, if set.
func newBashEngine(getenv func(string) string, limits runtime.Limits) (*bash.Engine, error) {
	opts := []bash.Option{bash.WithLimits(limits)}
	if v := getenv("BASH_ALLOWLIST"); v != "" {
		names, err := bash.ParseAllowlist(v)
		if err != nil {
			return nil, fmt.Errorf("BASH_ALLOWLIST: %w", err)
		}
		opts = append(opts, bash.WithAllowlist(names))
	}
	return bash.New(opts...)
}

// limitsFromEnv reads EXECUTION_TIMEOUT and MAX_OUTPUT_LENGTH.
func limitsFromEnv(getenv func(string) string) (runtime.Limits, error) {
	l := runtime.DefaultLimits()
	if v := getenv("EXECUTION_TIMEOUT"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs <= 0 || secs > 3600 {
			return l, fmt.Errorf("EXECUTION_TIMEOUT=%q: want seconds between 0 and 3600", v)
		}
		l.Timeout = time.Duration(secs * float64(time.Second))
	}
	if v := getenv("MAX_OUTPUT_LENGTH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 100<<20 {
			return l, fmt.Errorf("MAX_OUTPUT_LENGTH=%q: want a byte count between 1 and 104857600", v)
		}
		l.MaxOutput = n
	}
	if v := getenv("WORKSPACE_QUOTA_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1<<20 {
			return l, fmt.Errorf("WORKSPACE_QUOTA_MB=%q: want a number of MiB between 1 and 1048576", v)
		}
		l.WorkspaceQuota = int64(n) << 20
	}
	if v := getenv("WORKSPACE_MAX_FILES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 10_000_000 {
			return l, fmt.Errorf("WORKSPACE_MAX_FILES=%q: want a number of files and directories between 1 and 10000000", v)
		}
		l.WorkspaceEntries = n
	}
	return l, l.Validate()
}

func runCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", "python", "language: python, javascript, typescript or bash")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "wasmbox run: want exactly one FILE, or - for standard input")
		return 2
	}
	switch runtime.Language(*lang) {
	case runtime.Python, runtime.JavaScript, runtime.TypeScript, runtime.Bash:
	default:
		fmt.Fprintf(stderr, "wasmbox run: language %q is not available; available: python, javascript, typescript, bash\n", *lang)
		return 2
	}
	var code []byte
	var err error
	if name := fs.Arg(0); name == "-" {
		code, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
	} else {
		code, err = os.ReadFile(name)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox run: %v\n", err)
		return 2
	}
	limits, err := limitsFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox run: %v\n", err)
		return 2
	}
	res, err := runInWorker(ctx, runtime.Language(*lang), string(code), limits, os.Getenv, stderr)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "wasmbox run: interrupted")
			return 130
		}
		fmt.Fprintf(stderr, "wasmbox run: %v\n", err)
		return 1
	}
	io.WriteString(stdout, res.Stdout)
	io.WriteString(stderr, res.Stderr)
	if res.Truncated {
		fmt.Fprintf(stderr, "[wasmbox] output truncated at %d bytes per stream\n", limits.MaxOutput)
	}
	if res.Error != nil {
		if res.Error.Kind != runtime.ErrException && res.Error.Kind != runtime.ErrExit {
			fmt.Fprintf(stderr, "[wasmbox] %s: %s\n", res.Error.Kind, res.Error.Message)
		}
		if res.ExitCode > 0 {
			return res.ExitCode
		}
		return 1
	}
	return 0
}

// runInWorker runs code once in a worker started for it alone, confined exactly as a
// server's (the same layers, exec check and process bounds), with only lang's engine built; the
// workspace is a temporary directory removed afterwards. At the deadline the worker's tree is
// killed, whatever the guest does.
func runInWorker(ctx context.Context, lang runtime.Language, code string, limits runtime.Limits, getenv func(string) string, stderr io.Writer) (*runtime.Result, error) {
	// The command runs one worker: its budget is that worker's charge, whatever the machine's
	// (or a small container's) memory would give a server.
	wc := workerConfig{idle: time.Hour, unconfine: getenv("WASMBOX_BASH_UNCONFINED") == "1",
		disable: splitList(getenv("WASMBOX_DISABLE_LAYERS")), budget: worker.Charge(limits.Memory)}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, _, namespaces, err := workerOptions(wc, limits, getenv, log)
	if err != nil {
		return nil, err
	}
	if lang == runtime.Bash {
		landlock := worker.LandlockAvailable() && !slices.Contains(wc.disable, "landlock")
		if err := bashVerdict(landlock, namespaces, wc, log); err != nil {
			return nil, err
		}
	}
	sup, err := worker.New(append(opts, worker.WithLanguages(lang))...)
	if err != nil {
		return nil, err
	}
	defer sup.Close()
	dir, err := os.MkdirTemp("", "wasmbox-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ip, err := sup.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer ip.Close()
	return ip.Run(ctx, runtime.Request{Code: code, Language: lang, Limits: limits})
}

func versionCmd(ctx context.Context, stdout, stderr io.Writer) int {
	eng, err := python.New(ctx, python.WithPoolSize(0))
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox version: %v\n", err)
		return 1
	}
	defer eng.Close(context.Background())
	v, err := eng.Version(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox version: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wasmbox %s\nCPython %s (wasm32-wasi, built %s)\n", version, cpython.Version, v)
	return 0
}

// healthCmd asks a running server's /healthz; containers use it as their HEALTHCHECK.
func healthCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := envOr(os.Getenv, "WASMBOX_ADDR", ":7860")
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	url := fs.String("url", "http://"+addr+"/healthz", "health endpoint")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "wasmbox healthcheck: %s: %s\n", resp.Status, body)
		return 1
	}
	stdout.Write(body)
	return 0
}
