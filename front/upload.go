package front

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"wasmbox/sessions"
)

// Upload limits of the HTTP fronts. A file goes to disk as it arrives, so an upload costs the
// server a buffer and a connection, not its size; how many run at once is bounded so the
// buffers, descriptors and disk bandwidth they take are too.
const (
	// MaxUploadBytes bounds one file uploaded through an HTTP front, and a whole upload
	// request (with 1 MiB for the form around the files).
	MaxUploadBytes = 50 << 20
	// DefaultMaxUploads is how many uploads the server takes at once (Config.MaxUploads).
	DefaultMaxUploads = 64
	// DefaultMaxUploadsPerOwner is how many of them one owner may send at once
	// (Config.MaxUploadsPerOwner).
	DefaultMaxUploadsPerOwner = 4
	// maxFormParts bounds the parts of one upload form; maxFieldBytes a text field's value.
	maxFormParts  = 1000
	maxFieldBytes = 4 << 10
	// maxPartHeader bounds what a part's boundary and headers may take to read (package
	// mime/multipart alone allows 10 MiB of headers per part, held in memory).
	maxPartHeader = 64 << 10
)

// ErrForm marks a malformed upload form; its message says what was wrong.
var ErrForm = errors.New("bad upload form")

// BeginUpload admits an upload of c, or answers 429 (c has [Config.MaxUploadsPerOwner]
// uploads in progress) or 503 (the server has [Config.MaxUploads]) and returns ok false.
// Admitted, the caller calls end when the upload is over. Nobody waits: a refused client
// retries.
func (f *Front) BeginUpload(w http.ResponseWriter, c Caller) (end func(), ok bool) {
	end, err := f.uploads.Enter(c.Owner())
	max, per := f.uploads.Caps()
	switch {
	case errors.Is(err, ErrOwnerBusy):
		f.Reject("uploads_per_owner")
		TooMany(w, 5, fmt.Sprintf("you have %d uploads in progress, the most one client may send at once; retry when one is done", per))
		return nil, false
	case err != nil:
		f.Reject("uploads")
		w.Header().Set("Retry-After", "5")
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": fmt.Sprintf("the server is taking %d uploads at once, its most; retry in a few seconds", max)})
		return nil, false
	}
	return end, true
}

// UploadedFile is one file part of an upload form, read as it arrives: Body yields its bytes
// once, and only until the next part is asked for.
type UploadedFile struct {
	// Field is the form field's name.
	Field string
	// Name is the file name the client gave, as it gave it (with any directories; package
	// mime/multipart would keep only the base name); the front checks it.
	Name string
	Body io.Reader
}

// ReadForm reads r's multipart form as a stream, capping the request at MaxUploadBytes plus
// 1 MiB: each text field (at most 4 KiB) goes to field, each file part to file as it arrives,
// in the order the client sent them. Nothing of a file is kept in memory or spilled to a
// temporary file. It stops at the first error of field or file and returns it; a malformed
// form is an error wrapping [ErrForm].
func ReadForm(w http.ResponseWriter, r *http.Request, field func(name, value string) error, file func(UploadedFile) error) error {
	budget := &headerBudget{r: http.MaxBytesReader(w, r.Body, MaxUploadBytes+1<<20), left: -1}
	r.Body = struct {
		io.Reader
		io.Closer
	}{budget, r.Body}
	mr, err := r.MultipartReader()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrForm, err)
	}
	for n := 0; ; n++ {
		if n >= maxFormParts {
			return fmt.Errorf("%w: more than %d parts", ErrForm, maxFormParts)
		}
		budget.left = maxPartHeader // what NextRawPart may read: a boundary and headers
		p, err := mr.NextRawPart()
		budget.left = -1
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return err
			}
			return fmt.Errorf("%w: %v", ErrForm, err)
		}
		_, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		name, filename := params["name"], params["filename"]
		body := &partBody{r: p}
		if _, isFile := params["filename"]; isFile {
			err = file(UploadedFile{Field: name, Name: strings.ReplaceAll(filename, "\\", "/"), Body: body})
		} else {
			var b []byte
			b, err = io.ReadAll(io.LimitReader(body, maxFieldBytes+1))
			if err == nil && len(b) > maxFieldBytes {
				err = fmt.Errorf("%w: field %q is over %d bytes", ErrForm, name, maxFieldBytes)
			}
			if err == nil {
				err = field(name, string(b))
			}
		}
		p.Close()
		// A part cut off or malformed is the form's fault, whatever the callback made of it.
		if body.err != nil {
			if errors.As(body.err, new(*http.MaxBytesError)) {
				return body.err
			}
			return fmt.Errorf("%w: part %q: %v", ErrForm, name, body.err)
		}
		if err != nil {
			return err
		}
	}
}

// headerBudget limits the bytes read while left is not negative: [ReadForm] sets it while the
// multipart reader looks for the next part's headers.
type headerBudget struct {
	r    io.Reader
	left int64
}

var errPartHeader = fmt.Errorf("a part's boundary and headers take over %d KiB", maxPartHeader>>10)

func (b *headerBudget) Read(p []byte) (int, error) {
	if b.left < 0 {
		return b.r.Read(p)
	}
	if b.left == 0 {
		return 0, errPartHeader
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// partBody is a part's body that remembers the first error reading it.
type partBody struct {
	r   io.Reader
	err error
}

func (b *partBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// FormError answers an error of [ReadForm]: 400 for a bad form with what the route wants
// (want), 413 past the size cap, else as [Error].
func FormError(w http.ResponseWriter, err error, want string) {
	if errors.Is(err, ErrForm) {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": want + ": " + err.Error()})
		return
	}
	if errors.As(err, new(*http.MaxBytesError)) {
		WriteJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("the upload is over %d MiB", MaxUploadBytes>>20)})
		return
	}
	Error(w, err)
}

// SaveUpload streams file into session sid's workspace at name, at most MaxUploadBytes.
func (f *Front) SaveUpload(sid, name string, file UploadedFile) (sessions.FileInfo, error) {
	return f.cfg.Sessions.WriteFileFrom(sid, name, file.Body, MaxUploadBytes)
}
