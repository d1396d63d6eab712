package front

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wasmbox/runtime"
	"wasmbox/sessions"
)

// ErrInvalid marks a request a front must refuse as malformed (an unknown language, a missing
// field); its message says what was wrong.
var ErrInvalid = errors.New("invalid request")

// ErrUnavailable marks a request for a language this server cannot run (see
// Config.Unavailable); it wraps [ErrInvalid], and its message is the reason.
var ErrUnavailable = fmt.Errorf("%w: language unavailable", ErrInvalid)

// RunRequest is one request to run code, from any front.
type RunRequest struct {
	// SessionID names the session; "" makes a new one owned by the caller.
	SessionID string
	Language  runtime.Language
	Code      string
	// Script runs the code as a script rather than as a notebook cell.
	Script bool
	// CodeName is how the front calls the code in messages ("code", "command").
	CodeName string
}

// Run is the one path from a request to a run: the language must be served and the code
// within MaxCodeBytes, a missing session is created for the caller, the run is counted in the
// metrics. It returns the session the code ran in. Errors wrap [ErrInvalid] or a sessions
// error; each front words them.
func (f *Front) Run(ctx context.Context, c Caller, req RunRequest) (string, *runtime.Result, error) {
	if err := f.Check(req); err != nil {
		return "", nil, err
	}
	id := req.SessionID
	if id == "" {
		info, err := f.cfg.Sessions.Create(c.Owner())
		if err != nil {
			f.Reject("busy")
			return "", nil, err
		}
		id = info.ID
	}
	start := time.Now()
	res, err := f.cfg.Sessions.Run(ctx, id, runtime.Request{Code: req.Code, Language: req.Language, Script: req.Script})
	if err != nil {
		if errors.Is(err, sessions.ErrBusy) {
			f.Reject("busy")
		}
		return id, nil, err
	}
	outcome := "success"
	if res.Error != nil {
		outcome = string(res.Error.Kind)
	}
	f.metrics.runs.WithLabelValues(string(req.Language), outcome).Inc()
	f.metrics.duration.WithLabelValues(string(req.Language)).Observe(time.Since(start).Seconds())
	return id, res, nil
}

// Check validates req as [Front.Run] does, for fronts with work to do before the run.
func (f *Front) Check(req RunRequest) error {
	name := req.CodeName
	if name == "" {
		name = "code"
	}
	if why := f.Unavailable(req.Language); why != "" {
		f.Reject("unavailable")
		return &unavailableError{why}
	}
	if !f.HasLanguage(req.Language) {
		f.Reject("bad_request")
		return fmt.Errorf("%w: language %q is not available here; available: %s", ErrInvalid, req.Language, f.LanguageList())
	}
	if len(req.Code) > f.cfg.MaxCodeBytes {
		f.Reject("too_large")
		return fmt.Errorf("%w: %s is %d bytes; the limit is %d bytes", sessions.ErrTooLarge, name, len(req.Code), f.cfg.MaxCodeBytes)
	}
	return nil
}

// Create makes a session for the caller.
func (f *Front) Create(c Caller) (sessions.Info, error) {
	info, err := f.cfg.Sessions.Create(c.Owner())
	if err != nil {
		f.Reject("busy")
	}
	return info, err
}

// RunOutput is a run's result as the MCP tools and the JSON API return it.
type RunOutput struct {
	SessionID  string    `json:"session_id" jsonschema:"the session the code ran in; pass it again to keep state"`
	Success    bool      `json:"success" jsonschema:"true when the code ran to the end without an error"`
	Stdout     string    `json:"stdout"`
	Stderr     string    `json:"stderr"`
	Truncated  bool      `json:"truncated" jsonschema:"true when stdout or stderr was cut at the output limit"`
	Error      *RunError `json:"error,omitempty" jsonschema:"why the run failed"`
	ExitCode   int       `json:"exit_code"`
	DurationMS int64     `json:"duration_ms"`
	StateReset bool      `json:"state_reset" jsonschema:"true when the session's variables were lost (timeout, memory, restart); files remain"`
	// StateRestored says which saved state Python came back to (after an idle stop, a restart).
	StateRestored string         `json:"state_restored,omitempty" jsonschema:"set when the session's Python state was restored from its saved snapshot before this run; says which"`
	Files         []runtime.File `json:"files" jsonschema:"workspace files created or changed by this run"`
	Figures       []FigureInfo   `json:"figures,omitempty" jsonschema:"plots the run showed, returned as image blocks after the text"`
}

// FigureInfo describes one figure of a run; the image itself travels beside the output.
type FigureInfo struct {
	Index int    `json:"index"`
	MIME  string `json:"mime"`
	Bytes int    `json:"bytes"`
}

// RunError is why a run failed.
type RunError struct {
	Kind    string `json:"kind" jsonschema:"timeout, memory, exception, exit, denied, output_limit, crash or internal"`
	Message string `json:"message"`
}

// NewRunOutput is res as a [RunOutput] of session id.
func NewRunOutput(id string, res *runtime.Result) RunOutput {
	out := RunOutput{
		SessionID:     id,
		Success:       res.OK(),
		Stdout:        res.Stdout,
		Stderr:        res.Stderr,
		Truncated:     res.Truncated,
		ExitCode:      res.ExitCode,
		DurationMS:    res.Duration.Milliseconds(),
		StateReset:    res.StateReset,
		Files:         res.Files,
		StateRestored: res.StateRestored,
	}
	if out.Files == nil {
		out.Files = []runtime.File{}
	}
	if res.Error != nil {
		out.Error = &RunError{Kind: string(res.Error.Kind), Message: res.Error.Message}
	}
	for i, im := range res.Images {
		out.Figures = append(out.Figures, FigureInfo{Index: i + 1, MIME: im.MIME, Bytes: len(im.Data)})
	}
	return out
}

// unavailableError is [ErrUnavailable] with its reason as the whole message.
type unavailableError struct{ why string }

func (e *unavailableError) Error() string { return e.why }
func (e *unavailableError) Is(target error) bool {
	return target == ErrUnavailable || target == ErrInvalid
}
