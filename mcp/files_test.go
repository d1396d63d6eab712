package mcp

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mcplib "github.com/mark3labs/mcp-go/mcp"

	"wasmbox/front"
	"wasmbox/librechat"
	"wasmbox/runtime"
	"wasmbox/sessions"
)

func TestServer_fileTools(t *testing.T) {
	f := newFixture(t, front.Config{}, sessions.WithLimits(runtime.Limits{WorkspaceQuota: 1 << 20}))
	c := connect(t, f, "streamable", nil)
	sid := structured[sessionOutput](t, call(t, c, "create_execution_session", nil)).SessionID
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	up := call(t, c, "upload_file", map[string]any{"session_id": sid, "path": "data/in.csv", "content_base64": b64("a,b\n1,2\n")})
	if up.IsError {
		t.Fatalf("upload: %s", textOf(up))
	}
	run := structured[front.RunOutput](t, call(t, c, "execute_python_code", map[string]any{"session_id": sid,
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
	f := newFixture(t, front.Config{})
	c := connect(t, f, "streamable", nil)
	res := call(t, c, "execute_python_code", map[string]any{"code": "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.bar(['a', 'b'], [1, 2])\nfig.savefig('bars.png')\nplt.show()"})
	out := structured[front.RunOutput](t, res)
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
	// The example of the Gradio server wasmbox replaces, as written (shared with runtime/python's
	// tests): numpy arrays plotted.
	example, err := os.ReadFile(filepath.Join("..", "runtime", "python", "testdata", "gradio_example.py"))
	if err != nil {
		t.Fatal(err)
	}
	res = call(t, c, "execute_python_code", map[string]any{"code": string(example)})
	if out := structured[front.RunOutput](t, res); res.IsError || len(out.Figures) != 1 {
		t.Errorf("the Gradio example: %+v", out)
	}
	// Image files a run writes come back as image blocks, at most sessions.MaxRunImages of them.
	res = call(t, c, "execute_python_code", map[string]any{"session_id": out.SessionID,
		"code": "import matplotlib.pyplot as plt\nfor i in range(6):\n    plt.figure(); plt.plot([0, i]); plt.savefig('f%d.png' % i); plt.close()"})
	images = 0
	for _, c := range res.Content[1:] {
		if _, ok := c.(mcplib.ImageContent); ok {
			images++
		}
	}
	if got := len(structured[front.RunOutput](t, res).Files); images != sessions.MaxRunImages || got != 6 {
		t.Errorf("%d image blocks for %d written PNGs, want %d", images, got, sessions.MaxRunImages)
	}
}

// TestServer_specialFiles: a FIFO in a workspace (a tar archive can carry one) is refused by
// every front at once with a clear error; open(2) of it would block a server thread forever.
func TestServer_specialFiles(t *testing.T) {
	f := newFixture(t, front.Config{})
	c := connect(t, f, "streamable", nil)
	sid := structured[sessionOutput](t, call(t, c, "create_execution_session", nil)).SessionID
	// The HTTP fronts' sessions belong to the client's address.
	info, _ := f.mgr.Create(front.Caller{Addr: "127.0.0.1"}.Owner())
	for _, id := range []string{sid, info.ID} {
		s, _ := f.mgr.Get(id)
		if err := syscall.Mkfifo(filepath.Join(s.Workspace, "pipe.csv"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	within := func(name string, fn func() string, want string) {
		t.Helper()
		done := make(chan string, 1)
		go func() { done <- fn() }()
		select {
		case got := <-done:
			if !strings.Contains(got, want) {
				t.Errorf("%s: got %q, want it to say %q", name, got, want)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s: no answer in 20 s", name)
		}
	}
	within("MCP read_file", func() string {
		res := call(t, c, "read_file", map[string]any{"session_id": sid, "path": "pipe.csv"})
		return fmt.Sprint(res.IsError, " ", textOf(res))
	}, "true sessions: bad path: pipe.csv is not a regular file (a FIFO)")
	get := func(u string) string {
		resp, err := http.Get(f.http.URL + u)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, " ", string(b))
	}
	within("API download", func() string { return get("/api/sessions/" + info.ID + "/files/pipe.csv") },
		"400 {\"error\":\"sessions: bad path: pipe.csv is not a regular file (a FIFO)")
	// LibreChat names files by a hash of the paths it listed: a FIFO is never listed.
	raw, _ := hex.DecodeString(info.ID)
	handle := base64.RawURLEncoding.EncodeToString(raw[:15]) + "0"
	sum := sha256.Sum256([]byte("pipe.csv"))
	fileID := base64.RawURLEncoding.EncodeToString(sum[:])[:21]
	within("LibreChat download", func() string { return get(librechat.Path + "/download/" + handle + "/" + fileID) }, "no file "+fileID+" in the session")
	within("LibreChat files", func() string { return get(librechat.Path + "/files/" + handle) }, "200 []")
	// A regular file beside it is still served.
	f.mgr.WriteFile(info.ID, "ok.txt", []byte("fine"))
	within("API download of a regular file", func() string { return get("/api/sessions/" + info.ID + "/files/ok.txt") }, "200 fine")
}

// TestReadGate: read_file calls in progress are capped per owner and in total, each refusal
// says what to do, and ended calls give their place back.
func TestReadGate(t *testing.T) {
	g := newReadGate()
	var done []func()
	for i := range maxReadsPerOwner {
		d, err := g.begin("a")
		if err != nil {
			t.Fatalf("read %d of a: %v", i, err)
		}
		done = append(done, d)
	}
	if _, err := g.begin("a"); err == nil || !strings.Contains(err.Error(), "retry when one is done") {
		t.Errorf("past the owner's cap: got %v", err)
	}
	for i := 0; len(done) < maxReads; i++ {
		d, err := g.begin(fmt.Sprint("other", i))
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, d)
	}
	if _, err := g.begin("b"); err == nil || !strings.Contains(err.Error(), "download over HTTP") {
		t.Errorf("past the total: got %v", err)
	}
	done[0]()
	done[0]() // twice is once
	if _, err := g.begin("b"); err != nil {
		t.Errorf("after one ended: %v", err)
	}
}
