package librechat

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wasmbox/front"
	"wasmbox/internal/fronttest"
)

// FuzzExec: any body POSTed to /exec gets a JSON answer: a run, or an error saying what was
// wrong. The seed corpus (testdata/fuzz) runs with every go test.
func FuzzExec(f *testing.F) {
	for _, seed := range []string{`{"lang": "py", "code": "print(1)"}`, `{"lang": "bash", "code": "ls", "args": ["a'b", "$(x)"]}`,
		`{"lang": "js", "code": "1", "files": [{"id": "aaaaaaaaaaaaaaaaaaaaa", "name": "../x", "session_id": "bbbbbbbbbbbbbbbbbbbbb"}]}`,
		`{"lang": "ts", "code": "1", "runtime_session_hint": "` + strings.Repeat("h", 5000) + `"}`,
		`{"lang": "py", "code": "1", "session_id": "not-a-handle"}`, `{"lang": "sh"}`, `{"lang": 7}`, `{}`, `[`,
		`{"lang": "py", "code": "1", "files": [` + strings.Repeat(`{"name": "f"},`, 150) + `{}]}`} {
		f.Add([]byte(seed))
	}
	h, _ := fronttest.ServeEcho(f, front.Config{}, func(fr *front.Front) []front.Mount { return []front.Mount{New(fr, nil).Mount} })
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, Path+"/exec", bytes.NewReader(body))
		r.Host = "localhost"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fronttest.CheckJSON(t, w, http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable)
	})
}

// FuzzUpload: any multipart body POSTed to /upload or /upload/batch gets a JSON answer.
func FuzzUpload(f *testing.F) {
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"dir/a.csv\"\r\n\r\nn\n1\n\r\n--b--\r\n"), "b", true)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"..\\\\..\\\\x\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n\r\n--b--\r\n"), "b", false)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\ncut"), "b", true)
	f.Add([]byte(""), "", false)
	h, mgr := fronttest.ServeEcho(f, front.Config{}, func(fr *front.Front) []front.Mount { return []front.Mount{New(fr, nil).Mount} })
	f.Fuzz(func(t *testing.T, body []byte, boundary string, batch bool) {
		path := Path + "/upload"
		if batch {
			path += "/batch"
		}
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		r.Host = "localhost"
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fronttest.CheckJSON(t, w, http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusInsufficientStorage, http.StatusServiceUnavailable)
		// Each upload makes its own session: a failed one leaves none, and none pile up here.
		left := mgr.List(front.Caller{Addr: "192.0.2.1"}.Owner())
		if w.Code != http.StatusOK && len(left) > 0 {
			t.Errorf("a failed upload (%d) left %d sessions", w.Code, len(left))
		}
		for _, s := range left {
			mgr.Delete(s.ID)
		}
	})
}
