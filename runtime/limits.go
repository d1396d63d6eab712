package runtime

import (
	"fmt"
	"time"
)

// Limits bounds one run. It is a plain value, safe to copy and share.
type Limits struct {
	// Timeout is the wall-clock limit of one run.
	Timeout time.Duration
	// MaxOutput is the cap in bytes on each of stdout and stderr; what is written past it is
	// dropped and the Result says truncated.
	MaxOutput int
	// Memory is the memory limit of an interpreter in bytes.
	Memory int64
	// WorkspaceQuota is the limit in bytes on what a session's workspace may hold.
	WorkspaceQuota int64
	// WorkspaceEntries caps the files and directories of a session's workspace.
	WorkspaceEntries int
}

// Defaults of [Limits]; EXECUTION_TIMEOUT and MAX_OUTPUT_LENGTH override the first two.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultMaxOutput      = 10000
	DefaultMemory         = 256 << 20
	DefaultWorkspaceQuota = 100 << 20
	// DefaultWorkspaceEntries is the entry cap WORKSPACE_MAX_FILES overrides.
	DefaultWorkspaceEntries = 10000
)

// DefaultLimits returns the limits wasmbox uses when nothing is configured.
func DefaultLimits() Limits {
	return Limits{
		Timeout:          DefaultTimeout,
		MaxOutput:        DefaultMaxOutput,
		Memory:           DefaultMemory,
		WorkspaceQuota:   DefaultWorkspaceQuota,
		WorkspaceEntries: DefaultWorkspaceEntries,
	}
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxOutput == 0 {
		l.MaxOutput = d.MaxOutput
	}
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.WorkspaceQuota == 0 {
		l.WorkspaceQuota = d.WorkspaceQuota
	}
	if l.WorkspaceEntries == 0 {
		l.WorkspaceEntries = d.WorkspaceEntries
	}
	return l
}

// Normalize returns l with defaults filled in, or the error of [Limits.Validate]. Engines and
// the session manager use it for their WithLimits options.
func (l Limits) Normalize() (Limits, error) {
	l = l.WithDefaults()
	return l, l.Validate()
}

// Validate reports the first field that holds an unusable value.
func (l Limits) Validate() error {
	switch {
	case l.Timeout < 0:
		return fmt.Errorf("runtime: timeout %s: must not be negative", l.Timeout)
	case l.MaxOutput < 0:
		return fmt.Errorf("runtime: max output %d: must not be negative", l.MaxOutput)
	case l.Memory < 0 || (l.Memory > 0 && l.Memory < 16<<20) || l.Memory > 4<<30:
		return fmt.Errorf("runtime: memory limit %d: must be between 16 MiB and 4 GiB", l.Memory)
	case l.WorkspaceQuota < 0:
		return fmt.Errorf("runtime: workspace quota %d: must not be negative", l.WorkspaceQuota)
	case l.WorkspaceEntries < 0 || l.WorkspaceEntries > 10_000_000:
		return fmt.Errorf("runtime: workspace entries %d: must be between 0 and 10000000", l.WorkspaceEntries)
	}
	return nil
}
