package mcp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"wasmbox/front"
	"wasmbox/internal/fronttest"
)

// FuzzToolCall: any tool name with any arguments (valid JSON or not) gets a JSON-RPC answer, a
// result or an error, and never a panic or a hang. The seed corpus (testdata/fuzz) runs with
// every go test.
func FuzzToolCall(f *testing.F) {
	for _, seed := range []struct{ tool, args string }{
		{"execute_python_code", `{"code": "print(1)"}`},
		{"execute_javascript_code", `{"code": "1", "language": "typescript"}`},
		{"execute_javascript_code", `{"code": "1", "language": "cobol"}`},
		{"execute_bash_command", `{"command": "ls", "session_id": "0000"}`},
		{"execute_bash_command", `{"code": "wrong name"}`},
		{"upload_file", `{"session_id": "x", "path": "../../etc/passwd", "content_base64": "eA=="}`},
		{"upload_file", `{"session_id": 1, "path": null, "content_base64": "!!"}`},
		{"read_file", `{"session_id": "", "path": "\u0000"}`},
		{"list_files", `{}`},
		{"get_execution_history", `{"session_id": ["a"]}`},
		{"delete_session", `{"session_id": "` + strings.Repeat("f", 4096) + `"}`},
		{"create_execution_session", `null`},
		{"get_system_info", `[]`},
		{"no_such_tool", `{}`},
		{"execute_python_code", strings.Repeat(`{"a":`, 10000)},
	} {
		f.Add(seed.tool, []byte(seed.args))
	}
	var srv *Server
	fronttest.ServeEcho(f, front.Config{}, func(fr *front.Front) []front.Mount {
		srv = New(fr)
		return []front.Mount{srv.Mount}
	})
	f.Fuzz(func(t *testing.T, tool string, args []byte) {
		name, _ := json.Marshal(tool)
		msg := `{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": ` + string(name) + `, "arguments": ` + string(args) + `}}`
		resp := srv.mcp.HandleMessage(context.Background(), json.RawMessage(msg))
		if !json.Valid(args) {
			return // a malformed message: any answer (or none) will do, as long as it returns
		}
		if resp == nil {
			t.Fatal("no answer to a call")
		}
		if _, err := json.Marshal(resp); err != nil {
			t.Errorf("answer does not encode: %v", err)
		}
	})
}
