// Package bash runs a restricted bash: mvdan.cc/sh's interpreter keeps each session's shell
// state (cwd, variables, functions, aliases); builtins run in-process, confined to the session's
// workspace; every external program must be on an allowlist and runs through a launcher that
// confines it (rlimits, its own process group, no_new_privs, seccomp without network sockets,
// Landlock limiting the file system to the workspace and read-only system directories).
package bash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"wasmbox/internal/capture"
	"wasmbox/internal/filesnap"
	"wasmbox/internal/spawn"
	"wasmbox/runtime"
	"wasmbox/workspace"
)

// Engine makes bash interpreters. It is safe for concurrent use.
type Engine struct {
	allow    Allowlist
	limits   runtime.Limits
	launcher string
	direct   bool
	stopAll  func()
	started  func(pid int)
}

// Option configures an [Engine].
type Option func(*config) error

type config struct {
	names    []string
	limits   runtime.Limits
	launcher string
	direct   bool
	stopAll  func()
	started  func(pid int)
}

// WithProgramStarted sets what is done to each program just started (in a worker: the
// per-program process limit, see worker.ProgramStarted).
func WithProgramStarted(fn func(pid int)) Option {
	return func(c *config) error { c.started = fn; return nil }
}

// WithStopAll sets how a stopped run ends every program it left (in a worker: kill(-1) from
// PID 1 of its namespace). It is called before the workspace is trimmed back to its limits,
// so no program still running adds to it afterwards.
func WithStopAll(fn func()) Option {
	return func(c *config) error { c.stopAll = fn; return nil }
}

// WithDirectExec starts programs directly instead of through the launcher: for a process that
// is confined already (a worker), whose confinement every program inherits.
func WithDirectExec() Option {
	return func(c *config) error { c.direct = true; return nil }
}

// WithAllowlist sets the programs bash code may run (default [DefaultAllowlist]).
func WithAllowlist(names []string) Option {
	return func(c *config) error { c.names = names; return nil }
}

// WithLimits sets the limits of runs whose request carries none.
func WithLimits(l runtime.Limits) Option {
	return func(c *config) error {
		l, err := l.Normalize()
		c.limits = l
		return err
	}
}

// WithLauncher sets the binary that confines and runs programs when called with
// [LauncherCommand]; the default is this process's own executable.
func WithLauncher(path string) Option {
	return func(c *config) error { c.launcher = path; return nil }
}

// New returns an engine; programs of the allowlist that are not installed are left out.
func New(opts ...Option) (*Engine, error) {
	c := config{names: DefaultAllowlist, limits: runtime.DefaultLimits()}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.launcher == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bash: find the launcher: %w", err)
		}
		c.launcher = exe
	}
	allow, err := resolveAllowlist(c.names)
	if err != nil {
		return nil, err
	}
	return &Engine{allow: allow, limits: c.limits, launcher: c.launcher, direct: c.direct, stopAll: c.stopAll, started: c.started}, nil
}

// Language implements [runtime.Engine].
func (e *Engine) Language() runtime.Language { return runtime.Bash }

// Close implements [runtime.Engine].
func (e *Engine) Close(context.Context) error { return nil }

// Allowed returns the programs bash code may run.
func (e *Engine) Allowed() []string { return e.allow.Names() }

// Programs returns the absolute paths of the programs bash code may run, for a confinement
// that must let exactly these execute.
func (e *Engine) Programs() []string {
	out := make([]string, 0, len(e.allow))
	for _, p := range e.allow {
		out = append(out, p)
	}
	return out
}

// New implements [runtime.Engine].
func (e *Engine) New(ctx context.Context, workspaceDir string) (runtime.Interpreter, error) {
	j, err := newJail(workspaceDir)
	if err != nil {
		return nil, fmt.Errorf("bash: open workspace: %w", err)
	}
	ip := &Interpreter{engine: e, jail: j}
	env := expand.ListEnviron(
		"PATH="+searchPath,
		"HOME="+j.dir,
		"LANG=C.UTF-8",
		"TMPDIR="+j.dir,
		"PWD="+j.dir,
	)
	r, err := interp.New(
		interp.Env(env),
		interp.Dir(j.dir),
		interp.StdIO(bytes.NewReader(nil), &ip.stdout, &ip.stderr),
		interp.ExecHandlers(ip.execMiddleware),
		interp.CallHandler(ip.call),
		interp.OpenHandler(ip.open),
		interp.ReadDirHandler2(j.readDir),
		interp.StatHandler(j.stat),
		interp.AccessHandler(j.access),
	)
	if err != nil {
		j.root.Close()
		return nil, err
	}
	ip.runner = r
	return ip, nil
}

// Interpreter is one session's shell. Runs are serialized; Close may be called at any time.
type Interpreter struct {
	engine *Engine
	jail   *jail
	runner *interp.Runner
	mu     sync.Mutex
	stdout capture.SwitchWriter
	stderr capture.SwitchWriter
	closed atomic.Bool
	cancel atomic.Pointer[context.CancelFunc]
	// granted is the address space the programs running now were given (see grantMemory).
	granted atomic.Int64
}

// runState is what one run records beside its output.
type runState struct {
	mu         sync.Mutex
	denied     []string
	cause      error
	calls      atomic.Int64
	goroutines int
	procs      atomic.Int64
	cancel     context.CancelCauseFunc
	// base is what the workspace held when the run started: a run may clean a workspace that
	// is over its limits, but not add to it. existed names its entries then.
	base    workspace.Usage
	existed map[string]bool
}

func (s *runState) deny(msg string) {
	s.mu.Lock()
	s.denied = append(s.denied, msg)
	s.mu.Unlock()
}

// Close stops a run in progress and releases the workspace handle.
func (ip *Interpreter) Close() error {
	if ip.closed.Swap(true) {
		return nil
	}
	if c := ip.cancel.Load(); c != nil {
		(*c)()
	}
	ip.mu.Lock()
	defer ip.mu.Unlock()
	return ip.jail.root.Close()
}

// Causes that stop a run.
var (
	errTimeout   = errors.New("timeout")
	errFlood     = errors.New("output flood")
	errForkBomb  = errors.New("too many concurrent commands")
	errClosedRun = errors.New("interpreter closed")
)

// maxConcurrency bounds goroutines a run may add (background jobs, pipelines) and maxProcs the
// programs it may run at once: a fork bomb hits these, not the server.
const (
	maxConcurrency = 2000
	maxProcs       = 64
)

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("bash: interpreter closed")

// Run implements [runtime.Interpreter].
func (ip *Interpreter) Run(ctx context.Context, req runtime.Request) (*runtime.Result, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	if ip.closed.Load() {
		return nil, ErrClosed
	}
	limits := req.Limits
	if limits == (runtime.Limits{}) {
		limits = ip.engine.limits
	}
	limits = limits.WithDefaults()
	start := time.Now()
	res := &runtime.Result{}

	file, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(req.Code), "")
	if err != nil {
		res.Stderr = "bash: " + err.Error() + "\n"
		res.Error = &runtime.Error{Kind: runtime.ErrException, Type: "SyntaxError", Message: err.Error()}
		res.ExitCode = 2
		res.Duration = time.Since(start)
		return res, nil
	}

	before := filesnap.Snapshot(ip.jail.dir)
	stdout := capture.NewStream(limits.MaxOutput)
	stderr := capture.NewStream(limits.MaxOutput)
	runCtx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(limits.Timeout, func() { cancel(errTimeout) })
	defer timer.Stop()
	plain := context.CancelFunc(func() { cancel(errClosedRun) })
	ip.cancel.Store(&plain)
	defer ip.cancel.Store(nil)
	stdout.OnFlood = func() { cancel(errFlood) }
	stderr.OnFlood = stdout.OnFlood
	ip.stdout.Set(stdout)
	ip.stderr.Set(stderr)
	st := &runState{goroutines: goruntime.NumGoroutine(), cancel: cancel}
	var names []workspace.Entry
	st.base, names, _ = workspace.Entries(ip.jail.dir, limits.WorkspaceEntries)
	if !st.base.Partial {
		st.existed = make(map[string]bool, len(names))
		for _, e := range names {
			st.existed[e.Path] = true
		}
	}
	// Handlers find their run through the context: background jobs of an earlier run that
	// are still winding down keep their own run's state, not this one's.
	runCtx = context.WithValue(runCtx, limitsKey{}, limits)
	runCtx = context.WithValue(runCtx, runKey{}, st)

	if watchWorkspace && (limits.WorkspaceQuota > 0 || limits.WorkspaceEntries > 0) {
		go ip.watch(runCtx, st, limits)
	}
	err = ip.runner.Run(runCtx, file)
	cancel(nil)
	ip.stdout.Set(nil)
	ip.stderr.Set(nil)

	res.Duration = time.Since(start)
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.Truncated = stdout.Dropped() > 0 || stderr.Dropped() > 0
	status, isStatus := interp.IsExitStatus(err)
	cause := context.Cause(runCtx)
	switch {
	case errors.Is(cause, errTimeout):
		res.Error = &runtime.Error{Kind: runtime.ErrTimeout, Message: fmt.Sprintf("execution stopped after the %s time limit; running programs were killed", limits.Timeout)}
		res.ExitCode = -1
	case errors.Is(cause, errFlood):
		res.Error = &runtime.Error{Kind: runtime.ErrOutputLimit, Message: "execution stopped after writing too much output"}
		res.ExitCode = -1
	case errors.Is(cause, errQuota):
		st.mu.Lock()
		why := strings.Join(st.denied, "; ")
		st.mu.Unlock()
		res.Error = &runtime.Error{Kind: runtime.ErrDenied, Message: "workspace quota: " + why + "; the run was stopped, delete files to go on"}
		res.ExitCode = 1
	case errors.Is(cause, errForkBomb):
		res.Error = &runtime.Error{Kind: runtime.ErrDenied, Message: fmt.Sprintf("execution stopped: more than %d commands ran at once (a fork bomb?)", maxConcurrency)}
		res.ExitCode = -1
	case errors.Is(cause, errClosedRun) || ctx.Err() != nil:
		return nil, errors.Join(ErrClosed, ctx.Err())
	case err != nil && !isStatus:
		res.Stderr += err.Error() + "\n"
		res.Error = &runtime.Error{Kind: runtime.ErrInternal, Message: err.Error()}
		res.ExitCode = 1
	case status != 0:
		res.ExitCode = int(status)
		res.Error = &runtime.Error{Kind: runtime.ErrExit, Message: fmt.Sprintf("exit status %d", status)}
	}
	st.mu.Lock()
	if len(st.denied) > 0 && (res.Error == nil || res.Error.Kind == runtime.ErrExit) {
		res.Error = &runtime.Error{Kind: runtime.ErrDenied, Message: strings.Join(st.denied, "; ")}
		if res.ExitCode == 0 {
			res.ExitCode = 126
		}
	}
	st.mu.Unlock()
	ip.releaseFIFOs()
	if errors.Is(cause, errQuota) && st.existed != nil {
		if ip.engine.stopAll != nil {
			ip.engine.stopAll()
		}
		if n := ip.trim(limits, st.existed); n > 0 {
			res.Stderr += fmt.Sprintf("[wasmbox] removed the %d newest files and directories this run created past the workspace's maximum of %d\n", n, wsLimits(limits).MaxEntries())
		}
	}
	res.Files = filesnap.Changed(before, filesnap.Snapshot(ip.jail.dir))
	return res, nil
}

// releaseFIFOs ends the process substitutions a run left waiting: their goroutines block in
// open(2) until the FIFO's other end is opened. Opening it read-write from here lets them
// go on and finish (the run is over, so they stop at once); the FIFO is then removed.
func (ip *Interpreter) releaseFIFOs() {
	entries, err := os.ReadDir(ip.jail.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type()&os.ModeNamedPipe == 0 || !strings.HasPrefix(e.Name(), fifoPrefix) {
			continue
		}
		p := filepath.Join(ip.jail.dir, e.Name())
		if f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		os.Remove(p)
	}
}

// fifoPrefix names the FIFOs mvdan/sh makes for process substitution, in $TMPDIR (the
// workspace).
const fifoPrefix = "sh-interp-"

type limitsKey struct{}

type runKey struct{}

func runOf(ctx context.Context) *runState {
	st, _ := ctx.Value(runKey{}).(*runState)
	if st == nil {
		st = &runState{cancel: func(error) {}}
	}
	return st
}

// open confines redirections to the workspace and refuses new writes once it is over quota.
func (ip *Interpreter) open(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_APPEND|os.O_CREATE) != 0 && !devices[path] {
		if limits, ok := ctx.Value(limitsKey{}).(runtime.Limits); ok && limits.WorkspaceQuota > 0 {
			if u, _ := workspace.Measure(ip.jail.dir, limits.WorkspaceEntries); u.Bytes >= limits.WorkspaceQuota || u.Partial {
				return nil, fmt.Errorf("%s: %v", path, workspace.QuotaError(wsLimits(limits)))
			}
		}
	}
	return ip.jail.open(ctx, path, flag, perm)
}

// call runs before every command, builtins and functions included: it keeps cd inside the
// workspace and stops runaway concurrency.
func (ip *Interpreter) call(ctx context.Context, args []string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // the run is over: stop its leftover background jobs at once
	}
	st := runOf(ctx)
	if n := goruntime.NumGoroutine(); n > st.goroutines+maxConcurrency {
		st.cancel(errForkBomb)
		return nil, errForkBomb
	}
	switch args[0] {
	case "printf":
		// mvdan/sh's printf builtin lacks precision (%.2f); coreutils printf has it. printf -v
		// stays with the builtin, which alone can set a variable.
		if len(args) > 1 && args[1] != "-v" && precision.MatchString(args[1]) {
			if _, ok := ip.engine.allow["printf"]; ok {
				return append([]string{externalPrintf}, args[1:]...), nil
			}
		}
	case "cd", "pushd":
		hc := interp.HandlerCtx(ctx)
		target := ip.jail.dir
		for _, a := range args[1:] {
			if !strings.HasPrefix(a, "-") || a == "-" {
				target = a
				break
			}
		}
		if target == "-" {
			return args, nil
		}
		if !ip.jail.inside(hc.Dir, target) {
			fmt.Fprintf(hc.Stderr, "%s: %s: outside the workspace (the shell stays in %s)\n", args[0], target, ip.jail.dir)
			st.deny(fmt.Sprintf("%s %s: outside the workspace", args[0], target))
			return []string{"false"}, nil
		}
		if len(args) == 1 && args[0] == "cd" {
			return []string{"cd", ip.jail.dir}, nil
		}
	}
	return args, nil
}

// execMiddleware replaces mvdan/sh's default handler, which would run anything on PATH.
func (ip *Interpreter) execMiddleware(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return ip.exec
}

// aliases are programs Debian ships as shell scripts; they run as the binary they wrap.
var aliases = map[string][]string{"egrep": {"grep", "-E"}, "fgrep": {"grep", "-F"}, "gunzip": {"gzip", "-d"}, "zcat": {"gzip", "-dc"},
	externalPrintf: {"printf"}}

// externalPrintf names coreutils printf, which the call handler picks for formats the builtin
// cannot handle; no function or builtin can have this name.
const externalPrintf = "\x00printf"

var precision = regexp.MustCompile(`%[-+ #0]*[0-9*]*\.[0-9*]`)

// textOnly are programs whose operands are text, not file names: their arguments are not
// checked as paths ("tr / _", "echo /etc").
var textOnly = map[string]bool{"echo": true, "printf": true, externalPrintf: true, "tr": true, "seq": true,
	"basename": true, "dirname": true, "date": true, "true": true, "false": true, "sleep": true}

func (ip *Interpreter) exec(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	st := runOf(ctx)
	name := args[0]
	path, ok := ip.engine.allow[name]
	if a, isAlias := aliases[name]; isAlias && !ok {
		path, ok = ip.engine.allow[a[0]]
	}
	if !ok || strings.ContainsRune(name, '/') {
		msg := fmt.Sprintf("%s: command not allowed in wasmbox; allowed programs: %s", name, strings.Join(ip.engine.allow.Names(), " "))
		if strings.ContainsRune(name, '/') {
			msg = fmt.Sprintf("%s: programs run by name only, from the allowlist: %s", name, strings.Join(ip.engine.allow.Names(), " "))
		}
		fmt.Fprintln(hc.Stderr, msg)
		st.deny(name + ": not allowed")
		return interp.ExitStatus(126)
	}
	if name == "ln" && symbolic(args[1:]) {
		fmt.Fprintln(hc.Stderr, "ln: symbolic links are not supported in the workspace (hard links are: ln without -s)")
		st.deny("ln -s: symbolic links are not supported in the workspace")
		return interp.ExitStatus(1)
	}
	if name == "tar" {
		if plan, ok := ip.planTarGzip(ctx, args); ok {
			return ip.tarGzip(ctx, hc, path, plan)
		}
	}
	return ip.start(ctx, hc, name, path, args)
}

// start runs one allowlisted program (name, at path) with args, args[0] being its name: its
// path arguments are checked, and the workspace's limits after it ends.
func (ip *Interpreter) start(ctx context.Context, hc interp.HandlerContext, name, path string, args []string) error {
	st := runOf(ctx)
	if !textOnly[name] {
		args = ip.jail.hostArgs(args)
		if err := ip.jail.pathArgs(ip.jail.host(hc.Dir), args); err != nil {
			fmt.Fprintf(hc.Stderr, "%s: %v\n", name, err)
			st.deny(fmt.Sprintf("%s: %v", name, err))
			return interp.ExitStatus(126)
		}
	}
	argv := append([]string{name}, args[1:]...)
	if a, ok := aliases[name]; ok {
		if p, ok := ip.engine.allow[a[0]]; ok {
			path = p
			argv = append(append([]string{}, a...), args[1:]...)
		}
	}
	if st.procs.Add(1) > maxProcs {
		st.procs.Add(-1)
		fmt.Fprintf(hc.Stderr, "%s: too many programs running at once (limit %d)\n", name, maxProcs)
		st.deny(name + ": too many programs at once")
		return interp.ExitStatus(126)
	}
	defer st.procs.Add(-1)
	limits, _ := ctx.Value(limitsKey{}).(runtime.Limits)
	err := ip.launch(ctx, hc, path, argv, limits)
	if over := ip.overLimits(limits, st.base); over != "" {
		fmt.Fprintf(hc.Stderr, "%s: %s; the run was stopped (delete files to go on)\n", name, over)
		st.deny(over)
		st.cancel(errQuota)
		return interp.ExitStatus(1)
	}
	return err
}

// wsLimits are the workspace limits of a run.
func wsLimits(l runtime.Limits) workspace.Limits {
	return workspace.Limits{Bytes: l.WorkspaceQuota, Entries: l.WorkspaceEntries}
}

// trim removes the newest entries a stopped run created past the entry cap (programs create
// files without asking, so the watcher stops them some entries late: on a loaded machine,
// thousands); it returns how many. A pass sees at most twice the cap, so it takes as many
// passes as the excess needs, up to maxTrimPasses.
func (ip *Interpreter) trim(l runtime.Limits, existed map[string]bool) int {
	total := 0
	for range maxTrimPasses {
		n := ip.trimPass(l, existed)
		if n == 0 {
			break
		}
		total += n
	}
	return total
}

// maxTrimPasses bounds trim's work: the watcher stops a run far sooner than this many caps'
// worth of entries.
const maxTrimPasses = 64

// trimPass is one pass of trim over at most twice the entry cap.
func (ip *Interpreter) trimPass(l runtime.Limits, existed map[string]bool) int {
	max := wsLimits(l).MaxEntries()
	_, all, err := workspace.Entries(ip.jail.dir, 2*max)
	if err != nil || len(all) <= max {
		return 0
	}
	var created []workspace.Entry
	for _, e := range all {
		if !existed[e.Path] {
			created = append(created, e)
		}
	}
	// Newest first; within a directory, its contents before it.
	sort.Slice(created, func(i, j int) bool {
		if created[i].Ctime != created[j].Ctime {
			return created[i].Ctime > created[j].Ctime
		}
		return len(created[i].Path) > len(created[j].Path)
	})
	root, err := os.OpenRoot(ip.jail.dir)
	if err != nil {
		return 0
	}
	defer root.Close()
	removed, excess := 0, len(all)-max
	for _, e := range created {
		if removed >= excess {
			break
		}
		if root.Remove(filepath.FromSlash(e.Path)) == nil {
			removed++
		}
	}
	return removed
}

// overLimits says how the workspace went over its limits since base, or "" when it did not.
func (ip *Interpreter) overLimits(l runtime.Limits, base workspace.Usage) string {
	u, _ := workspace.Measure(ip.jail.dir, l.WorkspaceEntries)
	switch {
	case l.WorkspaceQuota > 0 && u.Bytes > l.WorkspaceQuota && u.Bytes > base.Bytes:
		return fmt.Sprintf("the workspace holds %d MiB, over its quota of %d MiB", u.Bytes>>20, l.WorkspaceQuota>>20)
	case u.Partial && !base.Partial:
		return fmt.Sprintf("the workspace holds more than its maximum of %d files and directories", wsLimits(l).MaxEntries())
	case u.Deepest > workspace.MaxDepth && u.Deepest > base.Deepest:
		return fmt.Sprintf("the workspace nests %d levels deep, more than its maximum of %d", u.Deepest, workspace.MaxDepth)
	}
	return ""
}

// watch stops the run as soon as the workspace passes its limits: programs write without
// asking wasmbox, so their writes are measured from outside while they run. It measures
// about every 3 ms, less often when measuring itself takes long.
func (ip *Interpreter) watch(ctx context.Context, st *runState, l runtime.Limits) {
	for {
		start := time.Now()
		if over := ip.overLimits(l, st.base); over != "" {
			st.deny(over)
			st.cancel(errQuota)
			return
		}
		wait := max(3*time.Millisecond, 4*time.Since(start))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

var errQuota = errors.New("workspace quota exceeded")

// Programs' memory: each program a run starts gets an address-space limit of a quarter of what
// is left of the session's memory limit once the programs running now are counted; a program
// that would get less than minProgramMemory is not started. A program that starts others
// (xargs, find -exec, tar's compressor) passes its limit on to each, so it is charged for
// them too: its weight is how many of its own may run at once, itself included, and its
// reservation is weight times its limit. However many run at once, the reservations add up
// to at most the memory limit, with or without a memory cgroup.
const minProgramMemory = 4 << 20

// maxParallel bounds xargs -P: its children run at once, each with xargs' own limit.
const maxParallel = 8

// grantMemory reserves weight times the address space of a new program out of memory; it
// returns the program's limit and the reservation, or false when too little is left.
func (ip *Interpreter) grantMemory(memory, weight int64) (limit, reserved int64, ok bool) {
	for {
		held := ip.granted.Load()
		limit := (memory - held) / (4 * weight)
		if limit < minProgramMemory {
			return 0, 0, false
		}
		if ip.granted.CompareAndSwap(held, held+limit*weight) {
			return limit, limit * weight, true
		}
	}
}

// weight is how many processes a program may have at once with its own memory limit,
// itself included (see grantMemory), or an error for an xargs -P the session cannot hold.
func weight(argv []string) (int64, error) {
	switch argv[0] {
	case "find", "tar", "sort":
		return 2, nil // -exec, a compressor, --compress-program: one at a time
	case "xargs":
	default:
		return 1, nil
	}
	p := "1"
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--":
			i = len(argv)
		case a == "-P" || a == "--max-procs":
			if i+1 < len(argv) {
				p = argv[i+1]
			}
			i++
		case strings.HasPrefix(a, "--max-procs="):
			p = strings.TrimPrefix(a, "--max-procs=")
		case strings.HasPrefix(a, "-P"):
			p = strings.TrimPrefix(a, "-P")
		case !strings.HasPrefix(a, "-"):
			i = len(argv) // the command xargs runs: its options are its own
		}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || n > maxParallel {
		return 0, fmt.Errorf("xargs -P %s: at most %d commands at once in wasmbox (they share the session's memory); use -P 1 to %d", p, maxParallel, maxParallel)
	}
	return int64(n) + 1, nil
}

var watchWorkspace, limitFileSize, limitMemory = true, true, true

// symbolic reports whether ln's arguments ask for a symbolic link.
func symbolic(args []string) bool {
	for _, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--symbolic":
			return true
		case strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsRune(a, 's'):
			return true
		}
	}
	return false
}

// childEnv is the program's environment: wasmbox's fixed variables plus what the script
// exported, minus anything that changes how programs load or where they look for code.
func childEnv(hc interp.HandlerContext, home string) []string {
	env := []string{"PATH=" + searchPath, "HOME=" + home, "TMPDIR=" + home}
	hasLang, hasTarOptions := false, false
	hc.Env.Each(func(name string, vr expand.Variable) bool {
		if !vr.Exported || vr.Kind != expand.String {
			return true
		}
		switch {
		case name == "PATH" || name == "HOME" || name == "TMPDIR":
			return true
		case strings.HasPrefix(name, "LD_") || strings.HasSuffix(name, "_PRELOAD") || name == "GCONV_PATH" ||
			name == "LOCPATH" || name == "NLSPATH" || name == "HOSTALIASES" || name == "RES_OPTIONS" ||
			name == "LOCALDOMAIN" || strings.HasPrefix(name, "MALLOC_") || strings.HasPrefix(name, "GLIBC_TUNABLES") || name == "BASH_ENV" || name == "ENV":
			return true
		}
		hasLang = hasLang || name == "LANG"
		hasTarOptions = hasTarOptions || name == "TAR_OPTIONS"
		env = append(env, name+"="+vr.Str)
		return true
	})
	if !hasLang {
		env = append(env, "LANG=C.UTF-8")
	}
	if !hasTarOptions && os.Geteuid() == 0 {
		env = append(env, "TAR_OPTIONS="+rootTarOptions)
	}
	return env
}

// rootTarOptions are what programs get when they run as root (a worker without a user
// namespace on a host that runs wasmbox as root), without capabilities: GNU tar as root
// restores archives' owners and exact modes, which needs CAP_CHOWN and, for directories, chmod
// by path (refused outside a mount namespace where the exec check is unavailable). With them
// it extracts as any other user does. The worker's uid is read when a program starts, after
// the worker has taken its guests' uid.
const rootTarOptions = "--no-same-owner --no-same-permissions"

// launch runs one program through the launcher in its own process group, killed with the
// whole group when the run ends or times out.
func (ip *Interpreter) launch(ctx context.Context, hc interp.HandlerContext, path string, argv []string, limits runtime.Limits) error {
	execs := make([]string, 0, len(ip.engine.allow))
	for _, p := range ip.engine.allow {
		execs = append(execs, p)
	}
	var cmd *exec.Cmd
	fsize := int64(-1)
	if ip.engine.direct {
		cmd = &exec.Cmd{Path: path, Args: argv, Env: childEnv(hc, ip.jail.dir)}
		// The program inherits the worker's limits: no file it writes may pass its share of
		// what is left of the quota. Programs running at once share it: the k-th gets 1/k² of
		// it, so however many are started the shares add up to less than 1.7 times what is
		// left (the watcher catches the rest, and programs that write several files). Over a
		// workspace that could not be measured whole, nothing may grow.
		if q := limits.WorkspaceQuota; q > 0 && limitFileSize {
			u, _ := workspace.Measure(ip.jail.dir, limits.WorkspaceEntries)
			k := max(runOf(ctx).procs.Load(), 1)
			fsize = max(q-u.Bytes, 0) / (k * k)
			if u.Partial {
				fsize = 0
			}
		}
	} else {
		cpu := uint64(limits.Timeout.Seconds()) + 1
		sp, err := specJSON(spec{Program: path, Args: argv, Env: childEnv(hc, ip.jail.dir), Workspace: ip.jail.dir,
			CPUSeconds: cpu, Executable: execs})
		if err != nil {
			return err
		}
		cmd = exec.Command(ip.engine.launcher, LauncherCommand, sp)
		cmd.Env = []string{}
	}
	cmd.Dir = ip.jail.host(hc.Dir) // after `cd /mnt/data`
	// A killed program whose output goes to another program's pipe (a pipeline whose reader
	// was killed too) would keep Wait copying forever: give up on its I/O soon after it is gone.
	cmd.WaitDelay = 500 * time.Millisecond
	cmd.Stdin = hc.Stdin
	cmd.Stdout = hc.Stdout
	cmd.Stderr = hc.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	grant := int64(0)
	if ip.engine.direct && limitMemory && limits.Memory > 0 {
		w, err := weight(argv)
		if err != nil {
			fmt.Fprintln(hc.Stderr, err)
			runOf(ctx).deny(err.Error())
			return interp.ExitStatus(126)
		}
		g, reserved, ok := ip.grantMemory(limits.Memory, w)
		if !ok {
			fmt.Fprintf(hc.Stderr, "%s: not started: the programs running now hold the %d MiB of memory this session's programs may use\n", argv[0], limits.Memory>>20)
			runOf(ctx).deny(argv[0] + ": no memory left for another program")
			return interp.ExitStatus(126)
		}
		grant = g
		defer ip.granted.Add(-reserved)
	}
	var err error
	spawn.Do(func() {
		if fsize >= 0 {
			// Inherited at fork, then lifted again: launches do not race, and the worker's
			// own writes (builtin redirections, Python) keep the full limit.
			fileSizeLimit(fsize)
			defer fileSizeLimit(math.MaxInt64)
		}
		err = cmd.Start()
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	// Not from the spawning thread: a worker lets its programs' limits be set only from
	// outside their own filter.
	if ip.engine.direct {
		programLimits(cmd.Process.Pid, grant, uint64(limits.Timeout.Seconds())+1)
	}
	if ip.engine.started != nil {
		ip.engine.started(cmd.Process.Pid)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			// The program is gone; anything it left in its group goes too.
		}
		spawn.Do(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	}()
	err = cmd.Wait()
	close(done)
	if errors.Is(err, exec.ErrWaitDelay) {
		// The program exited, but something it started elsewhere (setsid) still holds its
		// output: its status stands, and that process ends with the run.
		err = nil
		if st := cmd.ProcessState; st != nil && !st.Success() {
			err = &exec.ExitError{ProcessState: st}
		}
	}
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			if ctx.Err() != nil {
				return interp.ExitStatus(137)
			}
			sig := ws.Signal()
			if sig == syscall.SIGXFSZ && limits.WorkspaceQuota > 0 {
				why := workspace.QuotaError(wsLimits(limits)).Error()
				fmt.Fprintf(hc.Stderr, "%s: stopped writing: %s\n", argv[0], strings.TrimPrefix(why, "workspace: quota exceeded: "))
				st := runOf(ctx)
				st.deny(fmt.Sprintf("the workspace quota of %d MiB is full", limits.WorkspaceQuota>>20))
				st.cancel(errQuota)
			}
			if sig == syscall.SIGXCPU || sig == syscall.SIGKILL {
				fmt.Fprintf(hc.Stderr, "%s: killed (%s)\n", argv[0], sig)
			}
			return interp.ExitStatus(uint8(128 + int(sig)))
		}
		return interp.ExitStatus(uint8(ee.ExitCode()))
	}
	return err
}
