package sessions

import "errors"

// ErrNoFile is a workspace file that does not exist. It is also an [ErrBadPath], so callers
// that only tell bad paths apart keep working; fronts that answer "not found" use errors.Is
// with ErrNoFile rather than the message's text.
var ErrNoFile = errors.New("sessions: no such file")

// noFileError is a missing workspace file: both [ErrBadPath] and [ErrNoFile].
type noFileError struct{ path string }

func (e *noFileError) Error() string {
	return ErrBadPath.Error() + ": " + e.path + " does not exist in the workspace"
}

func (e *noFileError) Is(target error) bool { return target == ErrBadPath || target == ErrNoFile }
