package front

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"testing"
)

// TestReadForm_partHeader: a part whose headers go on for megabytes is refused once they pass
// 64 KiB, without holding them (package mime/multipart alone would read 10 MiB of them, which
// took 48 MiB for the 8 MiB line here), and a
// part with ordinary headers after big bodies is read.
func TestReadForm_partHeader(t *testing.T) {
	tests := []struct {
		name, body string
		want       error
		files      int
	}{
		{"huge header line", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\nX-Pad: " + strings.Repeat("a", 8<<20) + "\r\n\r\nx\r\n--b--\r\n", ErrForm, 0},
		{"many header lines", "--b\r\n" + strings.Repeat("X-Pad: aaaaaaaaaaaaaaaa\r\n", 100_000) + "\r\nx\r\n--b--\r\n", ErrForm, 0},
		{"huge preamble", strings.Repeat("p", 1<<20) + "\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--b--\r\n", ErrForm, 0},
		{"big bodies, small headers", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n" + strings.Repeat("y", 1<<20) +
			"\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b\"\r\n\r\n" + strings.Repeat("z", 1<<20) + "\r\n--b--\r\n", nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
			goruntime.GC()
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			files := 0
			err := ReadForm(httptest.NewRecorder(), r, func(string, string) error { return nil }, func(up UploadedFile) error {
				files++
				_, err := io.Copy(io.Discard, up.Body)
				return err
			})
			goruntime.ReadMemStats(&after)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if files != tc.files {
				t.Errorf("got %d files, want %d", files, tc.files)
			}
			// What was allocated while reading, beyond the request body the test holds.
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
				t.Errorf("reading allocated %d KiB, want under 4 MiB", grew>>10)
			}
		})
	}
}
