package api

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wasmbox/front"
)

// streamForm sends a multipart form whose file part is size zero bytes, made as it is sent,
// so the client holds no copy either. stall, when not nil, is waited for after half the file.
func streamForm(ctx context.Context, url, key, path, name string, size int64, stall <-chan struct{}) (*http.Response, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		if path != "" {
			mw.WriteField("path", path)
		}
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		chunk := make([]byte, 64<<10)
		for sent := int64(0); sent < size; {
			n := min(int64(len(chunk)), size-sent)
			if _, err := fw.Write(chunk[:n]); err != nil {
				pw.CloseWithError(err)
				return
			}
			sent += n
			if stall != nil && sent >= size/2 {
				<-stall
				stall = nil
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	return http.DefaultClient.Do(req)
}

// TestServer_upload_heap: concurrent large uploads go to disk as they arrive: the server's heap
// grows by a small fraction of what is sent (held whole, eight 40 MiB uploads took 320 MiB).
func TestServer_upload_heap(t *testing.T) {
	const n, size = 8, 40 << 20
	f := newFixture(t, front.Config{MaxUploads: n, MaxUploadsPerOwner: n})
	var ids []string
	for range n {
		info, _ := f.mgr.Create("ip:127.0.0.1")
		ids = append(ids, info.ID)
	}
	goruntime.GC()
	var base goruntime.MemStats
	goruntime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms goruntime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			goruntime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := streamForm(t.Context(), f.http.URL+"/api/sessions/"+id+"/files", "", "", fmt.Sprintf("big%d.bin", i), size, nil)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("upload %d: %d %s", i, resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("%d concurrent uploads of %d MiB: heap in use grew by at most %.1f MiB", n, size>>20, float64(grew)/(1<<20))
	if grew > 48<<20 {
		t.Errorf("heap grew by %d MiB during %d uploads of %d MiB; want under 48 MiB", grew>>20, n, size>>20)
	}
	for i, id := range ids {
		files, _ := f.mgr.Files(id)
		if len(files) != 1 || files[0].Size != size || files[0].Path != fmt.Sprintf("big%d.bin", i) {
			t.Errorf("session %d holds %+v", i, files)
		}
	}
}

// TestServer_upload_limits: uploads in progress are capped per owner (429) and in total (503);
// an upload cut off, or over the size cap, leaves nothing in the workspace; a path field names
// the file after it.
func TestServer_upload_limits(t *testing.T) {
	f := newFixture(t, front.Config{MaxUploads: 2, MaxUploadsPerOwner: 1, APIKeys: []string{"a", "b", "c"}})
	owner := func(k string) string { return front.Caller{Key: k}.Owner() }
	sa, _ := f.mgr.Create(owner("a"))
	sb, _ := f.mgr.Create(owner("b"))
	sc, _ := f.mgr.Create(owner("c"))
	post := func(key, id string, stall <-chan struct{}, ctx context.Context) (*http.Response, error) {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			fw, _ := mw.CreateFormFile("file", "slow.bin")
			fw.Write(make([]byte, 1<<20))
			if stall != nil {
				<-stall
			}
			pw.CloseWithError(mw.Close())
		}()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.http.URL+"/api/sessions/"+id+"/files", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("X-API-Key", key)
		return http.DefaultClient.Do(req)
	}
	ws := func(id string) string { info, _ := f.mgr.Get(id); return info.Workspace }
	// leftovers: the workspace's files, then the uploads in progress (written beside the
	// workspace until they are complete).
	leftovers := func(id string) []string {
		var out []string
		filepath.Walk(ws(id), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				out = append(out, filepath.Base(p))
			}
			return nil
		})
		tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(ws(id)), "upload.tmp-*"))
		for _, p := range tmp {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	// waitFor polls cond for up to 30 s (a bound for hangs, not a timing assertion).
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s", what)
			}
		}
	}
	// hold starts an upload that stalls after its first MiB and waits until the server has
	// admitted it (its temporary file is beside the workspace).
	hold := func(key, id string) (release func()) {
		stall := make(chan struct{})
		ended := make(chan *http.Response, 1)
		go func() {
			resp, _ := post(key, id, stall, t.Context())
			ended <- resp
		}()
		waitFor("an upload of "+key+" to start", func() bool { return len(leftovers(id)) > 0 })
		return func() {
			close(stall)
			if resp := <-ended; resp == nil || resp.StatusCode != http.StatusOK {
				t.Errorf("a stalled upload of %s, once sent: got %v, want 200", key, resp)
			} else {
				resp.Body.Close()
			}
		}
	}
	code := func(key, id string) int {
		resp, err := post(key, id, nil, t.Context())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Owner a holds one upload open: its second is refused at once; b's passes.
	releaseA := hold("a", sa.ID)
	if got := code("a", sa.ID); got != http.StatusTooManyRequests {
		t.Errorf("a second upload of one owner: got %d, want 429", got)
	}
	// b holds the second slot: c finds the server full.
	releaseB := hold("b", sb.ID)
	if got := code("c", sc.ID); got != http.StatusServiceUnavailable {
		t.Errorf("an upload past the server's cap: got %d, want 503", got)
	}
	releaseA()
	releaseB()
	if got := code("c", sc.ID); got != http.StatusOK {
		t.Errorf("an upload once the others are done: got %d, want 200", got)
	}
	// Cut off half way: nothing stays.
	sd, _ := f.mgr.Create(owner("a"))
	ctx, cancel := context.WithCancel(t.Context())
	stallD := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := streamForm(ctx, f.http.URL+"/api/sessions/"+sd.ID+"/files", "a", "", "cut.bin", 8<<20, stallD)
		if err == nil {
			resp.Body.Close()
		}
	}()
	waitFor("the upload to start", func() bool { return len(leftovers(sd.ID)) > 0 })
	cancel()
	close(stallD)
	<-done
	waitFor("a cut-off upload to be cleaned up", func() bool { return len(leftovers(sd.ID)) == 0 })
	// Over the size cap: 413, nothing stays.
	resp, err := streamForm(t.Context(), f.http.URL+"/api/sessions/"+sb.ID+"/files", "b", "", "huge.bin", front.MaxUploadBytes+2<<20, nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("an upload over the cap: got %d, want 413", resp.StatusCode)
		}
	}
	if l := leftovers(sb.ID); len(l) != 1 || l[0] != "slow.bin" {
		t.Errorf("an upload over the cap left %v; want only slow.bin", l)
	}
	// A path field names the file after it.
	resp, err = streamForm(t.Context(), f.http.URL+"/api/sessions/"+sb.ID+"/files", "b", "in/named.csv", "ignored.csv", 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if l := leftovers(sb.ID); resp.StatusCode != http.StatusOK || len(l) != 2 || l[0] != "named.csv" {
		t.Errorf("an upload with a path: got %d and %v, want 200 and in/named.csv", resp.StatusCode, l)
	}
}
