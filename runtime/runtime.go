// Package runtime defines the execution contract every wasmbox language obeys: a [Request] goes
// into an [Interpreter] made by an [Engine], and a [Result] comes back. What user code does wrong
// (an exception, a timeout, a memory limit) is described by the Result; a Go error from Run means
// wasmbox itself could not run the request.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// Language names a guest language.
type Language string

// The languages wasmbox knows.
const (
	Python     Language = "python"
	JavaScript Language = "javascript"
	TypeScript Language = "typescript"
	Bash       Language = "bash"
)

// ErrorKind classifies why a run did not succeed.
type ErrorKind string

// The error kinds of a [Result].
const (
	// ErrTimeout: the run exceeded its wall-clock limit and was stopped.
	ErrTimeout ErrorKind = "timeout"
	// ErrMemory: the run exceeded its memory limit.
	ErrMemory ErrorKind = "memory"
	// ErrException: user code raised an exception that was not handled.
	ErrException ErrorKind = "exception"
	// ErrExit: user code ended with a non-zero exit status (sys.exit(n), exit n).
	ErrExit ErrorKind = "exit"
	// ErrDenied: user code tried something wasmbox does not allow (a command, a path).
	ErrDenied ErrorKind = "denied"
	// ErrOutputLimit: user code wrote so much output that the run was stopped.
	ErrOutputLimit ErrorKind = "output_limit"
	// ErrCrash: the process running the code died (a fatal error in an engine, a signal); the
	// session continues in a new one, without its state.
	ErrCrash ErrorKind = "crash"
	// ErrInternal: wasmbox failed, not the user's code.
	ErrInternal ErrorKind = "internal"
)

// ErrBusy is wrapped by errors that mean "no capacity right now; try again shortly": the run
// was not started.
var ErrBusy = errors.New("busy")

// Error describes why a run failed.
type Error struct {
	Kind ErrorKind `json:"kind"`
	// Type is the language-level error type when there is one ("ZeroDivisionError").
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
}

// Request is one piece of code to run. It is a plain value: an interpreter does not keep it.
type Request struct {
	Code     string
	Language Language
	// Limits in force for this run; the zero value means [DefaultLimits].
	Limits Limits
	// Script runs the code as a script: the value of a final expression is not shown, as
	// clients that expect `python file.py` semantics (LibreChat's code API) want.
	Script bool
	// Deadline, when set, is when the caller's time limit ends: what the run waited for before
	// it began (its session's previous run, a slot, a worker, a restore) is taken from
	// Limits.Timeout, so the caller has its answer within the limit whatever it waited for.
	// Zero: the limit counts from when the run begins.
	Deadline time.Time `json:"-"`
}

// TimeLeft is the time limit r's run has if it begins at now: Limits.Timeout, less when
// Deadline comes sooner; zero or less when the caller's time is already up.
func (r Request) TimeLeft(now time.Time) time.Duration {
	left := r.Limits.WithDefaults().Timeout
	if !r.Deadline.IsZero() {
		left = min(left, r.Deadline.Sub(now))
	}
	return left
}

// Image is a picture produced by a run (a plot).
type Image struct {
	MIME string `json:"mime"`
	Data []byte `json:"-"`
}

// File is a workspace file created or changed by a run.
type File struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	MIME string `json:"mime"`
}

// Result is what a run produced. It is filled even when the run failed.
type Result struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// Truncated is true when stdout or stderr reached the output cap and the rest was dropped.
	Truncated bool `json:"truncated"`
	// Error is nil when the run succeeded.
	Error    *Error        `json:"error,omitempty"`
	ExitCode int           `json:"exit_code"`
	Duration time.Duration `json:"-"`
	// StateReset is true when the language state (variables, imports) was lost: the run was
	// stopped, or it started in a fresh interpreter after an earlier one was lost.
	StateReset bool `json:"state_reset"`
	// StateRestored says which saved state the session's interpreter came back to before this
	// run (after its worker was stopped, the server restarted, or a run was stopped), when it
	// did; empty otherwise.
	StateRestored string  `json:"state_restored,omitempty"`
	Images        []Image `json:"-"`
	Files         []File  `json:"files,omitempty"`
	// ImagesDone says Images already hold the image files the run wrote (a run another
	// replica of a cluster served), which are not to be read again here.
	ImagesDone bool `json:"-"`
}

// OK reports whether the run succeeded.
func (r *Result) OK() bool { return r.Error == nil }

// Engine makes interpreters for one language. Implementations are safe for concurrent use.
type Engine interface {
	// Language is the language of the engine's interpreters.
	Language() Language
	// New starts an interpreter whose guest sees workspaceDir as its working directory.
	New(ctx context.Context, workspaceDir string) (Interpreter, error)
	// Close releases the engine; interpreters it made must be closed first.
	Close(ctx context.Context) error
}

// Freezer is implemented by interpreters whose state can be saved between runs and restored
// into a new interpreter (Python). Neither may be called during a run (they wait for it).
type Freezer interface {
	// Freeze writes the interpreter's state to w as a snapshot, streamed (a state of hundreds
	// of megabytes is never held twice); it reports false, having written nothing, when the
	// interpreter holds no state.
	Freeze(ctx context.Context, w io.Writer) (bool, error)
	// Thaw replaces the interpreter's state with the snapshot read from r. It returns notes
	// for the user (files that were open and are now closed). A snapshot that cannot be used
	// leaves the interpreter fresh and returns an error saying why.
	Thaw(ctx context.Context, r io.Reader) (notes string, err error)
}

// Interpreter keeps one session's language state between runs. It runs one request at a time:
// Run calls are serialized by the interpreter. Close may be called at any moment, also while a
// Run is in progress, which then returns promptly. An interpreter is not usable after Close.
type Interpreter interface {
	// Run executes req. The returned error is non-nil only when wasmbox itself failed;
	// everything the code did, including failing, is in the Result.
	Run(ctx context.Context, req Request) (*Result, error)
	Close() error
}
