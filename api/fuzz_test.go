package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wasmbox/front"
	"wasmbox/internal/fronttest"
)

// FuzzRun: any body POSTed to run gets a JSON answer: a run, or 400/413 saying what was wrong.
// The seed corpus (testdata/fuzz) runs with every go test.
func FuzzRun(f *testing.F) {
	for _, seed := range []string{`{"language": "python", "code": "print(1)"}`, `{"language": "bash", "code": "ls"}`,
		`{"language": "cobol"}`, `{"code": 1}`, `[]`, `null`, `{"language": "python", "code": "` + strings.Repeat("x", 4096) + `"}`,
		`{"language": "python\u0000", "code": "\ud800"}`, strings.Repeat("[", 100000)} {
		f.Add([]byte(seed))
	}
	h, mgr := fronttest.ServeEcho(f, front.Config{}, func(fr *front.Front) []front.Mount { return []front.Mount{New(fr).Mount} })
	info, err := mgr.Create(front.Caller{Addr: "192.0.2.1"}.Owner())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/sessions/"+info.ID+"/run", bytes.NewReader(body))
		r.Host = "localhost"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fronttest.CheckJSON(t, w, http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
	})
}

// FuzzUpload: any multipart body POSTed to the file API gets a JSON answer, and leaves no
// temporary file in the workspace.
func FuzzUpload(f *testing.F) {
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nn\n1\n\r\n--b--\r\n"), "b")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n../../etc/passwd\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--b--\r\n"), "b")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\nx\r\n--b--\r\n"), "b")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\ncut off"), "b")
	f.Add([]byte("garbage"), "")
	h, mgr := fronttest.ServeEcho(f, front.Config{}, func(fr *front.Front) []front.Mount { return []front.Mount{New(fr).Mount} })
	info, err := mgr.Create(front.Caller{Addr: "192.0.2.1"}.Owner())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		r := httptest.NewRequest(http.MethodPost, "/api/sessions/"+info.ID+"/files", bytes.NewReader(body))
		r.Host = "localhost"
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fronttest.CheckJSON(t, w, http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusInsufficientStorage)
		filepath.Walk(info.Workspace, func(p string, fi os.FileInfo, err error) error {
			if err == nil && strings.HasSuffix(p, ".tmp") && strings.Contains(p, ".upload-") {
				t.Errorf("left behind: %s", p)
			}
			return nil
		})
	})
}
