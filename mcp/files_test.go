package mcp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	goruntime "runtime"
	"strings"
	"testing"

	mcplib "github.com/mark3labs/mcp-go/mcp"

	"wasmbox/runtime"
	"wasmbox/sessions"
)

func TestServer_fileTools(t *testing.T) {
	f := newFixture(t, Config{}, sessions.WithLimits(runtime.Limits{WorkspaceQuota: 1 << 20}))
	c := connect(t, f, "streamable", nil)
	sid := structured[sessionOutput](t, call(t, c, "create_execution_session", nil)).SessionID
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	up := call(t, c, "upload_file", map[string]any{"session_id": sid, "path": "data/in.csv", "content_base64": b64("a,b\n1,2\n")})
	if up.IsError {
		t.Fatalf("upload: %s", textOf(up))
	}
	run := structured[runOutput](t, call(t, c, "execute_python_code", map[string]any{"session_id": sid,
		"code": "import csv\nrows = list(csv.reader(open('data/in.csv')))\nopen('out.txt', 'w').write(str(len(rows)))\nprint(rows[1])"}))
	if run.Stdout != "['1', '2']\n" || len(run.Files) != 1 || run.Files[0].Path != "out.txt" || !strings.HasPrefix(run.Files[0].MIME, "text/plain") {
		t.Errorf("python reads the upload: %+v", run)
	}
	// Replacing keeps one file.
	call(t, c, "upload_file", map[string]any{"session_id": sid, "path": "data/in.csv", "content_base64": b64("replaced")})
	list := structured[filesOutput](t, call(t, c, "list_files", map[string]any{"session_id": sid}))
	if len(list.Files) != 2 || list.Files[0].Path != "data/in.csv" || list.Files[0].Size != 8 || list.Files[1].Path != "out.txt" {
		t.Errorf("list: %+v", list.Files)
	}
	if got := textOf(call(t, c, "read_file", map[string]any{"session_id": sid, "path": "data/in.csv"})); got != "replaced" {
		t.Errorf("read text: %q", got)
	}
	png := []byte("\x89PNG\r\n\x1a\nfake")
	call(t, c, "upload_file", map[string]any{"session_id": sid, "path": "p.png", "content_base64": base64.StdEncoding.EncodeToString(png)})
	res := call(t, c, "read_file", map[string]any{"session_id": sid, "path": "p.png"})
	if len(res.Content) != 2 {
		t.Fatalf("read image: %d blocks", len(res.Content))
	}
	if im, ok := res.Content[1].(mcplib.ImageContent); !ok || im.MIMEType != "image/png" || im.Data != base64.StdEncoding.EncodeToString(png) {
		t.Errorf("read image: %#v", res.Content[1])
	}
	call(t, c, "upload_file", map[string]any{"session_id": sid, "path": "blob.bin", "content_base64": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255})})
	res = call(t, c, "read_file", map[string]any{"session_id": sid, "path": "blob.bin"})
	if er, ok := res.Content[len(res.Content)-1].(mcplib.EmbeddedResource); !ok {
		t.Errorf("read binary: %#v", res.Content)
	} else if blob, ok := er.Resource.(mcplib.BlobResourceContents); !ok || blob.Blob != "AAEC/w==" {
		t.Errorf("read binary resource: %#v", er.Resource)
	}
	for _, bad := range []string{"../escape", "/etc/passwd", "a/../../b", "nul\x00byte", "", "."} {
		res := call(t, c, "upload_file", map[string]any{"session_id": sid, "path": bad, "content_base64": b64("x")})
		if !res.IsError {
			t.Errorf("upload to %q succeeded", bad)
		}
		if res := call(t, c, "read_file", map[string]any{"session_id": sid, "path": bad}); !res.IsError {
			t.Errorf("read of %q succeeded", bad)
		}
	}
	// No symbolic link is created in a workspace, even one that stays inside.
	if res := call(t, c, "execute_python_code", map[string]any{"session_id": sid, "code": "import os\nos.symlink('out.txt', 'inside-link')"}); !res.IsError || !strings.Contains(textOf(res), "symbolic links are not supported") {
		t.Errorf("symlink: %q", textOf(res))
	}
	if res := call(t, c, "read_file", map[string]any{"session_id": sid, "path": "inside-link"}); !res.IsError {
		t.Errorf("link inside: %q", textOf(res))
	}
	if res := call(t, c, "read_file", map[string]any{"session_id": sid, "path": "missing.txt"}); !res.IsError || !strings.Contains(textOf(res), "does not exist") {
		t.Errorf("missing file: %q", textOf(res))
	}
	// The quota (1 MiB here) holds for uploads.
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 700<<10))
	if res := call(t, c, "upload_file", map[string]any{"session_id": sid, "path": "big1", "content_base64": big}); res.IsError {
		t.Fatalf("first big upload: %s", textOf(res))
	}
	if res := call(t, c, "upload_file", map[string]any{"session_id": sid, "path": "big2", "content_base64": big}); !res.IsError || !strings.Contains(textOf(res), "quota") {
		t.Errorf("upload past the quota: %q", textOf(res))
	}
	if res := call(t, c, "upload_file", map[string]any{"session_id": sid, "path": "x", "content_base64": "not base64!"}); !res.IsError {
		t.Error("bad base64 accepted")
	}
}

func TestServer_plots(t *testing.T) {
	f := newFixture(t, Config{})
	c := connect(t, f, "streamable", nil)
	res := call(t, c, "execute_python_code", map[string]any{"code": "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.bar(['a', 'b'], [1, 2])\nfig.savefig('bars.png')\nplt.show()"})
	out := structured[runOutput](t, res)
	if res.IsError || len(out.Figures) != 1 || len(out.Files) != 1 || out.Files[0].MIME != "image/png" {
		t.Fatalf("plot run: %+v", out)
	}
	var images int
	for _, c := range res.Content[1:] {
		if im, ok := c.(mcplib.ImageContent); ok && im.MIMEType == "image/png" {
			images++
		}
	}
	if images != 1 {
		t.Errorf("%d image blocks, want 1 (the saved file is the shown figure)", images)
	}
	if strings.Contains(textOf(res), "iVBOR") {
		t.Error("base64 image data in the text block")
	}
	// Image files a run writes come back as image blocks, at most maxRunImages of them.
	res = call(t, c, "execute_python_code", map[string]any{"session_id": out.SessionID,
		"code": "import matplotlib.pyplot as plt\nfor i in range(6):\n    plt.figure(); plt.plot([0, i]); plt.savefig('f%d.png' % i); plt.close()"})
	images = 0
	for _, c := range res.Content[1:] {
		if _, ok := c.(mcplib.ImageContent); ok {
			images++
		}
	}
	if got := len(structured[runOutput](t, res).Files); images != maxRunImages || got != 6 {
		t.Errorf("%d image blocks for %d written PNGs, want %d", images, got, maxRunImages)
	}
}

func TestServer_fileAPI(t *testing.T) {
	f := newFixture(t, Config{APIKeys: []string{"k"}})
	info, _ := f.mgr.Create("key:k")
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
	f := newFixture(t, Config{})
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
