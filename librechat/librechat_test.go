package librechat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"wasmbox/front"
	"wasmbox/runtime"
	"wasmbox/runtime/javascript"
	"wasmbox/sessions"
)

func TestServer_libreChatAPI(t *testing.T) {
	js, _ := javascript.New(runtime.JavaScript)
	f := newFixture(t, front.Config{APIKeys: []string{"lc-key"}}, sessions.WithEngine(js))
	base := f.http.URL + Path
	send := func(method, path string, body io.Reader, ctype string, key bool) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if key {
			req.Header.Set("X-API-Key", "lc-key")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	exec := func(body string) (int, map[string]any) {
		code, b := send("POST", "/exec", strings.NewReader(body), "application/json", true)
		var m map[string]any
		json.Unmarshal(b, &m)
		return code, m
	}
	if code, _ := send("POST", "/exec", strings.NewReader(`{"lang":"py","code":"1"}`), "application/json", false); code != http.StatusUnauthorized {
		t.Errorf("without the key: %d", code)
	}

	// Upload, as LibreChat does: multipart "file" and "entity_id".
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("entity_id", "agent_123")
	fw, _ := mw.CreateFormFile("file", "sales.csv")
	fw.Write([]byte("month,amount\njan,10\nfeb,32\n"))
	mw.Close()
	code, b := send("POST", "/upload", &body, mw.FormDataContentType(), true)
	var up struct {
		Message   string `json:"message"`
		SessionID string `json:"session_id"`
		Files     []struct {
			FileID   string `json:"fileId"`
			Filename string `json:"filename"`
		} `json:"files"`
	}
	json.Unmarshal(b, &up)
	if code != 200 || up.Message != "success" || !libreID.MatchString(up.SessionID) || len(up.Files) != 1 || !libreID.MatchString(up.Files[0].FileID) || up.Files[0].Filename != "sales.csv" {
		t.Fatalf("upload: %d %s", code, b)
	}

	// Exec with the uploaded file, in a new session: the file is copied in; /mnt/data works.
	code, res := exec(`{"lang":"py","code":"import csv\nrows = list(csv.DictReader(open('/mnt/data/sales.csv')))\nprint(sum(int(r['amount']) for r in rows))\nopen('/mnt/data/total.txt', 'w').write('42')","files":[{"id":"` + up.Files[0].FileID + `","name":"sales.csv","session_id":"` + up.SessionID + `"}]}`)
	sid, _ := res["session_id"].(string)
	if code != 200 || res["stdout"] != "42\n" || !libreID.MatchString(sid) {
		t.Fatalf("exec: %d %v", code, res)
	}
	files, _ := res["files"].([]any)
	var totalID string
	for _, x := range files {
		m := x.(map[string]any)
		if m["name"] == "total.txt" {
			totalID = m["id"].(string)
		}
	}
	if !libreID.MatchString(totalID) {
		t.Fatalf("exec files: %v", files)
	}
	// The session keeps its state between calls that name it.
	exec(`{"lang":"py","code":"kept = 7","session_id":"` + sid + `"}`)
	if _, res := exec(`{"lang":"py","code":"print(kept)","session_id":"` + sid + `"}`); res["stdout"] != "7\n" {
		t.Errorf("state: %v", res)
	}
	if code, res := exec(`{"lang":"js","code":"console.log([1, 2].map(x => x * 2))"}`); code != 200 || res["stdout"] != "[ 2, 4 ]\n" {
		t.Errorf("js: %d %v", code, res)
	}
	if code, b := send("POST", "/exec", strings.NewReader(`{"lang":"rs","code":"fn main(){}"}`), "application/json", true); code != 400 || !strings.Contains(string(b), "unsupported language") {
		t.Errorf("rust: %d %s", code, b)
	}
	// Runs through the LibreChat API are counted like MCP runs.
	mreq, _ := http.NewRequest("GET", f.http.URL+front.PathMetrics, nil)
	mreq.Header.Set("X-API-Key", "lc-key")
	if resp, err := http.DefaultClient.Do(mreq); err == nil {
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`wasmbox_runs_total{language="python",outcome="success"} 3`, `wasmbox_runs_total{language="javascript",outcome="success"} 1`, `wasmbox_run_duration_seconds_count{language="python"} 3`} {
			if !strings.Contains(string(m), want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	}
	if code, b := send("GET", "/download/"+sid+"/"+totalID, nil, "", true); code != 200 || string(b) != "42" {
		t.Errorf("download: %d %q", code, b)
	}
	code, b = send("GET", "/files/"+sid, nil, "", true)
	if code != 200 || !strings.Contains(string(b), `"name":"`+sid+"/"+totalID+`"`) {
		t.Errorf("files: %d %s", code, b)
	}
	if code, _ := send("DELETE", "/files/"+sid+"/"+totalID, nil, "", true); code != 200 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := send("GET", "/download/"+sid+"/"+totalID, nil, "", true); code != 404 && code != 400 {
		t.Errorf("download after delete: %d", code)
	}
	if code, _ := send("GET", "/files/not-a-valid-id", nil, "", true); code != 404 {
		t.Errorf("bad session id: %d", code)
	}
}

// TestServer_libreChatOwners: a LibreChat handle opens only its own key's session.
func TestServer_libreChatOwners(t *testing.T) {
	js, _ := javascript.New(runtime.JavaScript)
	f := newFixture(t, front.Config{APIKeys: []string{"k1", "k2"}}, sessions.WithEngine(js))
	base := f.http.URL + Path
	exec := func(key, body string) map[string]any {
		req, _ := http.NewRequest("POST", base+"/exec", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	first := exec("k1", `{"lang":"js","code":"globalThis.secret = 'k1 only'; 1"}`)
	handle, _ := first["session_id"].(string)
	if len(handle) != 21 {
		t.Fatalf("k1 exec: %v", first)
	}
	other := exec("k2", `{"lang":"js","code":"console.log(typeof secret)","session_id":"`+handle+`"}`)
	if other["session_id"] == handle || !strings.Contains(other["stdout"].(string), "undefined") {
		t.Errorf("k2 with k1's handle: %v, want a session of its own", other)
	}
	for _, path := range []string{"/files/" + handle, "/download/" + handle + "/AAAAAAAAAAAAAAAAAAAAA"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("X-API-Key", "k2")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("k2 GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if again := exec("k1", `{"lang":"js","code":"console.log(secret)","session_id":"`+handle+`"}`); again["stdout"] != "k1 only\n" {
		t.Errorf("k1's own handle: %v", again)
	}
}

// TestServer_libreChatLimits: uploads are capped at front.MaxUploadBytes, not at the code size, a
// failed upload leaves no session, and an exec naming too many input files is refused.
func TestServer_libreChatLimits(t *testing.T) {
	f := newFixture(t, front.Config{MaxCodeBytes: 64 << 10})
	base := f.http.URL + Path
	upload := func(size int) int {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "big.bin")
		fw.Write(make([]byte, size))
		mw.Close()
		resp, err := http.Post(base+"/upload", mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := upload(3 << 20); code != 200 {
		t.Errorf("a 3 MiB upload with a 64 KiB code cap: %d, want 200", code)
	}
	before := f.mgr.Count()
	if code := upload(front.MaxUploadBytes + 1); code != http.StatusRequestEntityTooLarge {
		t.Errorf("an upload over front.MaxUploadBytes: %d, want 413", code)
	}
	if after := f.mgr.Count(); after != before {
		t.Errorf("a failed upload left %d sessions behind", after-before)
	}
	var files []string
	for i := range maxExecFiles + 1 {
		files = append(files, fmt.Sprintf(`{"id":"AAAAAAAAAAAAAAAAAAAA%d","name":"f%d"}`, i%10, i))
	}
	resp, err := http.Post(base+"/exec", "application/json", strings.NewReader(`{"lang":"py","code":"1","files":[`+strings.Join(files, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("%d input files: %d, want 400", maxExecFiles+1, resp.StatusCode)
	}
}
