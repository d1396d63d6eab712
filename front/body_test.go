package front

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wasmbox/sessions"
)

// TestGuard_bodyBudget: the bodies the guarded routes hold at once are bounded per client
// (429) and in total (503), at once; finished requests give their bytes back.
func TestGuard_bodyBudget(t *testing.T) {
	mgr, _ := sessions.New(sessions.WithDataDir(t.TempDir()), sessions.WithReapInterval(0))
	defer mgr.Close()
	f, err := New(Config{Sessions: mgr})
	if err != nil {
		t.Fatal(err)
	}
	f.bodies = newBodyBudget(4<<20, 2<<20)
	release := make(chan struct{})
	h := f.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.WriteHeader(http.StatusOK)
	}))
	body := strings.Repeat("x", 1<<20)
	send := func(client string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/run", strings.NewReader(body))
		r.RemoteAddr = client + ":1234"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	var wg sync.WaitGroup
	hold := func(client string) {
		wg.Add(1)
		go func() { defer wg.Done(); send(client) }()
	}
	waitUsed := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			f.bodies.mu.Lock()
			used := f.bodies.used
			f.bodies.mu.Unlock()
			if used == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("bytes held: got %d, want %d", used, want)
			}
		}
	}
	hold("192.0.2.1")
	hold("192.0.2.1")
	waitUsed(2 << 20)
	if w := send("192.0.2.1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("a client past its share: got %d, want 429", w.Code)
	}
	hold("192.0.2.2")
	hold("192.0.2.2")
	waitUsed(4 << 20)
	if w := send("192.0.2.3"); w.Code != http.StatusServiceUnavailable {
		t.Errorf("past the server's budget: got %d, want 503", w.Code)
	}
	close(release)
	wg.Wait()
	waitUsed(0)
	if w := send("192.0.2.3"); w.Code != http.StatusOK {
		t.Errorf("after the others finished: got %d, want 200", w.Code)
	}
	// A request without a body reserves nothing.
	r := httptest.NewRequest(http.MethodGet, "/run", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("no body: got %d, want 200", w.Code)
	}
}
