package front

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"wasmbox/sessions"
)

// ServeFile streams a workspace file as a download (ranges too): slow readers of big files
// cost a file handle each, not the file's size in memory.
func (f *Front) ServeFile(w http.ResponseWriter, r *http.Request, sid, p string) {
	file, fi, err := f.cfg.Sessions.OpenFile(sid, p)
	if err != nil {
		Error(w, err)
		return
	}
	defer file.Close()
	w.Header().Set("Content-Type", fi.MIME)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", PathBase(fi.Path)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, PathBase(fi.Path), fi.Modified, file)
}

// PathBase is the last element of a slash-separated path.
func PathBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// Error answers err with the HTTP status of its kind: sessions errors, [ErrInvalid].
func Error(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, sessions.ErrNotFound), errors.Is(err, sessions.ErrExpired), errors.Is(err, sessions.ErrEvicted):
		status = http.StatusNotFound
	case errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, sessions.ErrNoFile):
		status = http.StatusNotFound
	case errors.Is(err, sessions.ErrBadPath):
		status = http.StatusBadRequest
	case errors.Is(err, sessions.ErrTooLarge), errors.As(err, new(*http.MaxBytesError)):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, sessions.ErrQuota):
		status = http.StatusInsufficientStorage
	case errors.Is(err, sessions.ErrBusy):
		status = http.StatusServiceUnavailable
	}
	WriteJSON(w, status, map[string]string{"error": err.Error()})
}
