package front

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzReadForm: whatever a client sends as a multipart form, ReadForm neither panics nor hands
// out more than its caps (text fields of at most 4 KiB, at most 1000 parts), and a failure is
// a form error, a size error or one of the callbacks'. The seed corpus (testdata/fuzz) runs
// with every go test.
func FuzzReadForm(f *testing.F) {
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\nin/x.csv\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nn\n1\n\r\n--b--\r\n"), "b")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"..\\\\..\\\\evil\"\r\n\r\nx\r\n--b--"), "b")
	f.Add([]byte("--b\r\n\r\n\r\n--b--\r\n"), "b")
	f.Add([]byte(""), "")
	f.Add([]byte("not a form"), "b")
	errCallback := errors.New("callback")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		r := httptest.NewRequest(http.MethodPost, "/upload", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		parts := 0
		err := ReadForm(httptest.NewRecorder(), r, func(name, value string) error {
			parts++
			if len(value) > maxFieldBytes {
				t.Errorf("field %q of %d bytes, over the cap", name, len(value))
			}
			return nil
		}, func(up UploadedFile) error {
			parts++
			if _, err := io.Copy(io.Discard, up.Body); err != nil {
				return err
			}
			if up.Name == "fail" {
				return errCallback
			}
			return nil
		})
		if parts > maxFormParts {
			t.Errorf("%d parts, over the cap", parts)
		}
		if err != nil && !errors.Is(err, ErrForm) && !errors.Is(err, errCallback) && !errors.As(err, new(*http.MaxBytesError)) {
			// A file part's body may fail with the multipart reader's own error.
			if parts == 0 {
				t.Errorf("unexpected error kind: %v", err)
			}
		}
	})
}
