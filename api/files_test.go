package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	goruntime "runtime"
	"strings"
	"testing"

	"wasmbox/front"
)

func TestServer_fileAPI(t *testing.T) {
	f := newFixture(t, front.Config{APIKeys: []string{"k"}})
	info, _ := f.mgr.Create(front.Caller{Key: "k"}.Owner())
	auth := func(r *http.Request) *http.Request { r.Header.Set("Authorization", "Bearer k"); return r }
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "report.csv")
	fw.Write([]byte("n\n1\n"))
	mw.Close()
	url := f.http.URL + "/api/sessions/" + info.ID + "/files"
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(auth(req))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "report.csv") {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	get := func(u string, withKey bool) (int, string, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if withKey {
			auth(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	code, list, _ := get(url, true)
	var parsed filesOutput
	json.Unmarshal([]byte(list), &parsed)
	if code != 200 || len(parsed.Files) != 1 || parsed.Files[0].Path != "report.csv" {
		t.Errorf("list: %d %s", code, list)
	}
	code, content, hdr := get(url+"/report.csv", true)
	if code != 200 || content != "n\n1\n" || !strings.Contains(hdr.Get("Content-Disposition"), "report.csv") {
		t.Errorf("download: %d %q %v", code, content, hdr)
	}
	if code, _, _ := get(url, false); code != http.StatusUnauthorized {
		t.Errorf("without key: %d", code)
	}
	if code, _, _ := get(url+"/..%2f..%2fetc%2fpasswd", true); code != http.StatusBadRequest && code != http.StatusNotFound {
		t.Errorf("escape: %d", code)
	}
	if code, _, _ := get(url+"/missing", true); code != http.StatusNotFound {
		t.Errorf("missing: %d", code)
	}
	if code, _, _ := get(f.http.URL+"/api/sessions/"+strings.Repeat("0", 32)+"/files", true); code != http.StatusNotFound {
		t.Errorf("unknown session: %d", code)
	}
}

// TestServer_download_streamed: slow readers of a big file do not each hold it in memory.
func TestServer_download_streamed(t *testing.T) {
	f := newFixture(t, front.Config{})
	info, _ := f.mgr.Create("ip:127.0.0.1")
	big := make([]byte, 20<<20)
	if _, err := f.mgr.WriteFile(info.ID, "big.bin", big); err != nil {
		t.Fatal(err)
	}
	var before goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	var bodies []io.ReadCloser
	for range 20 {
		resp, err := http.Get(f.http.URL + "/api/sessions/" + info.ID + "/files/big.bin")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		resp.Body.Read(buf) // one byte, then stall like a slow reader
		bodies = append(bodies, resp.Body)
	}
	var during goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&during)
	for _, b := range bodies {
		b.Close()
	}
	if grew := int64(during.HeapInuse) - int64(before.HeapInuse); grew > 100<<20 {
		t.Errorf("20 stalled downloads of a 20 MiB file grew the heap by %d MiB", grew>>20)
	}
	resp, err := http.Get(f.http.URL + "/api/sessions/" + info.ID + "/files/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != int64(len(big)) || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("download: %d bytes, ranges %q", n, resp.Header.Get("Accept-Ranges"))
	}
}
