package mcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	mcplib "github.com/mark3labs/mcp-go/mcp"

	"wasmbox/front"
	"wasmbox/runtime"
	"wasmbox/sessions"
)

const sessionParam = "Optional. The id of a session from create_execution_session or an earlier result. Omit it to run in a new session (its id is returned as session_id)."

func (s *Server) addTools() {
	l := s.front.Sessions().Limits()
	limits := fmt.Sprintf("Limits: %s per run, %d bytes of stdout and of stderr, %d MiB memory.", l.Timeout, l.MaxOutput, l.Memory>>20)

	s.mcp.AddTool(mcplib.NewTool("execute_python_code",
		mcplib.WithDescription("Run Python 3.13 code in a sandbox and return its stdout, stderr and any error. "+
			"Standard library only (json, re, math, statistics, datetime, decimal, sqlite3, csv, collections, itertools, zoneinfo...); no pip packages, numpy or pandas, no network, threads or subprocesses. "+
			"Variables, functions and imports persist between calls with the same session_id, like notebook cells; the value of a final expression is printed. "+
			"Files are read and written in the working directory /workspace and persist in the session. "+limits+
			" A timeout or memory error resets the variables (files stay) and says state_reset."),
		mcplib.WithString("code", mcplib.Required(), mcplib.Description("Python source to run.")),
		mcplib.WithString("session_id", mcplib.Description(sessionParam)),
		mcplib.WithOutputSchema[front.RunOutput](), nonNullSchema(),
		runs(),
	), s.execTool(runtime.Python, "code"))

	s.mcp.AddTool(mcplib.NewTool("execute_javascript_code",
		mcplib.WithDescription("Run JavaScript (or TypeScript with language=typescript) in a sandbox and return stdout, stderr and any error. "+
			"Modern JavaScript (ES2020+: classes, async/await, top-level await, generators, Map/Set, BigInt, Intl where available); console.log prints like node; "+
			"Promises and setTimeout/setInterval run until the event loop is idle. No file system, network, require of host modules or process.env (require offers only url, buffer, util). "+
			"Top-level let/const/function/class persist between calls with the same session_id, like a node REPL; the value of a final expression is printed. "+
			"TypeScript is transpiled (types are not checked) and shares nothing with JavaScript cells. "+limits),
		mcplib.WithString("code", mcplib.Required(), mcplib.Description("JavaScript or TypeScript source to run.")),
		mcplib.WithString("session_id", mcplib.Description(sessionParam)),
		mcplib.WithString("language", mcplib.Description("Optional: javascript (default) or typescript."), mcplib.Enum("javascript", "typescript")),
		mcplib.WithOutputSchema[front.RunOutput](), nonNullSchema(),
		runs(),
	), s.execTool(runtime.JavaScript, "code"))

	// Where bash cannot run, its tool stays listed (clients configured for it find it) and
	// says so first.
	bashNote := ""
	if why := s.front.Unavailable(runtime.Bash); why != "" {
		bashNote = "UNAVAILABLE on this server: " + why + " "
	}
	s.mcp.AddTool(mcplib.NewTool("execute_bash_command",
		mcplib.WithDescription(bashNote+"Run a bash command line in the session's workspace directory and return stdout, stderr and the exit code. "+
			"Bash syntax works (pipes, loops, functions, variables, here-docs, globbing, set -e); the working directory, variables, exported environment, functions and aliases persist between calls with the same session_id. "+
			"Only allowlisted programs run (text and file tools such as cat, grep, sed, awk, sort, find, jq, tar, gzip; see get_system_info); shells, interpreters and network tools are refused with error kind denied. "+
			"Paths outside the workspace are refused; files are shared with the session's Python code. "+limits),
		mcplib.WithString("command", mcplib.Required(), mcplib.Description("The bash command line to run.")),
		mcplib.WithString("session_id", mcplib.Description(sessionParam)),
		mcplib.WithOutputSchema[front.RunOutput](), nonNullSchema(),
		runs(),
	), s.execTool(runtime.Bash, "command"))

	s.mcp.AddTool(mcplib.NewTool("create_execution_session",
		mcplib.WithDescription(fmt.Sprintf("Create a new execution session and return its session_id. Pass the id to execute_* tools to keep variables and files between calls. Sessions expire after %s idle; at most %d exist at once (the least recently used idle one is evicted).", s.front.Sessions().TTL(), s.front.Sessions().MaxSessions())),
		creates(),
	), s.createTool)

	s.mcp.AddTool(mcplib.NewTool("list_execution_sessions",
		mcplib.WithDescription("List your own execution sessions (id, created, last used, runs, languages, time left before expiry). Sessions of other users are never shown."),
		readOnly(),
	), s.listTool)

	s.mcp.AddTool(mcplib.NewTool("get_execution_history",
		mcplib.WithDescription("Return the runs of a session, oldest first: language, code, success, error kind, the first 500 bytes of output, time and duration."),
		mcplib.WithString("session_id", mcplib.Required(), mcplib.Description("The session's id.")),
		readOnly(),
	), s.historyTool)

	s.mcp.AddTool(mcplib.NewTool("delete_session",
		mcplib.WithDescription("Delete a session: its variables, files and history are removed."),
		mcplib.WithString("session_id", mcplib.Required(), mcplib.Description("The session's id.")),
		deletes(),
	), s.deleteTool)

	s.mcp.AddTool(mcplib.NewTool("get_system_info",
		mcplib.WithDescription("Describe this wasmbox server: versions, languages, limits, sessions and the isolation in force."),
		readOnly(),
	), s.infoTool)
}

// Tool annotations, all four hints set, as clients (LibreChat, Claude) decide from them what
// to ask the user before a call. No tool reaches beyond the sandbox: openWorldHint is false
// for all.
func annotate(readOnly, destructive, idempotent bool) mcplib.ToolOption {
	return func(t *mcplib.Tool) {
		t.Annotations.ReadOnlyHint = mcplib.ToBoolPtr(readOnly)
		t.Annotations.DestructiveHint = mcplib.ToBoolPtr(destructive)
		t.Annotations.IdempotentHint = mcplib.ToBoolPtr(idempotent)
		t.Annotations.OpenWorldHint = mcplib.ToBoolPtr(false)
	}
}

// readOnly: a tool that only reads (lists, gets, downloads); calling it again changes nothing.
func readOnly() mcplib.ToolOption { return annotate(true, false, true) }

// runs: runs code, which may overwrite or delete the session's files and variables (what the
// code says), and a second call runs it again.
func runs() mcplib.ToolOption { return annotate(false, true, false) }

// creates: makes something new on each call.
func creates() mcplib.ToolOption { return annotate(false, false, false) }

// deletes: removes something; a second call has nothing more to remove.
func deletes() mcplib.ToolOption { return annotate(false, true, true) }

// replaces: writes over what is there; the same call again leaves the same result.
func replaces() mcplib.ToolOption { return annotate(false, true, true) }

// jsonResult returns v as structured content and as its JSON text.
func jsonResult(v any) *mcplib.CallToolResult {
	return mcplib.NewToolResultStructuredOnly(v)
}

// toolError is a failure the caller can act on; the message says what to do, in the MCP
// tools' own terms (sessions words its errors for any front).
func toolError(err error) *mcplib.CallToolResult {
	msg := err.Error()
	switch {
	case errors.Is(err, sessions.ErrNotFound), errors.Is(err, sessions.ErrExpired), errors.Is(err, sessions.ErrEvicted):
		msg += " (call create_execution_session, or leave session_id out)"
	case errors.Is(err, front.ErrInvalid):
		msg = strings.TrimPrefix(msg, front.ErrInvalid.Error()+": ")
	case errors.Is(err, sessions.ErrNoFile):
		msg += " (list_files shows what does)"
	case errors.Is(err, sessions.ErrTooLarge):
		msg += " (download it over HTTP at /api/sessions/{id}/files/{path})"
	}
	return mcplib.NewToolResultError(msg)
}

func (s *Server) execTool(toolLang runtime.Language, param string) func(context.Context, mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
	return func(ctx context.Context, req mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
		lang := toolLang
		code, err := req.RequireString(param)
		if err != nil {
			s.front.Reject("bad_request")
			return toolError(fmt.Errorf("missing required argument %q (a string)", param)), nil
		}
		if lang == runtime.JavaScript {
			switch l := req.GetString("language", "javascript"); l {
			case "", "javascript", "js":
			case "typescript", "ts":
				lang = runtime.TypeScript
			default:
				return toolError(fmt.Errorf("language %q: want javascript or typescript", l)), nil
			}
		}
		id, res, err := s.front.Run(ctx, caller(ctx), front.RunRequest{
			SessionID: req.GetString("session_id", ""), Language: lang, Code: code, CodeName: param})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return toolError(err), nil
		}
		return runResult(id, res, s.front.Sessions().RunImages(id, res)), nil
	}
}

type sessionOutput struct {
	SessionID string `json:"session_id"`
	Message   string `json:"message"`
}

func (s *Server) createTool(ctx context.Context, _ mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
	info, err := s.front.Create(caller(ctx))
	if err != nil {
		return toolError(err), nil
	}
	return jsonResult(sessionOutput{SessionID: info.ID,
		Message: fmt.Sprintf("session created; pass session_id to execute_* tools; it expires after %s idle", s.front.Sessions().TTL())}), nil
}

type listOutput struct {
	Sessions []sessions.Info `json:"sessions"`
	Count    int             `json:"count"`
}

func (s *Server) listTool(ctx context.Context, _ mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
	list := s.front.Sessions().List(caller(ctx).Owner())
	if list == nil {
		list = []sessions.Info{}
	}
	return jsonResult(listOutput{Sessions: list, Count: len(list)}), nil
}

type historyOutput struct {
	SessionID string           `json:"session_id"`
	History   []sessions.Entry `json:"history"`
}

func (s *Server) historyTool(ctx context.Context, req mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
	id, err := req.RequireString("session_id")
	if err != nil {
		return toolError(errors.New("missing required argument \"session_id\"")), nil
	}
	h, err := s.front.Sessions().History(id)
	if err != nil {
		return toolError(err), nil
	}
	if h == nil {
		h = []sessions.Entry{}
	}
	return jsonResult(historyOutput{SessionID: id, History: h}), nil
}

func (s *Server) deleteTool(ctx context.Context, req mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
	id, err := req.RequireString("session_id")
	if err != nil {
		return toolError(errors.New("missing required argument \"session_id\"")), nil
	}
	if err := s.front.Sessions().Delete(id); err != nil {
		return toolError(err), nil
	}
	return jsonResult(sessionOutput{SessionID: id, Message: "session deleted with its files and history"}), nil
}

func (s *Server) infoTool(ctx context.Context, _ mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
	return jsonResult(s.front.SystemInfo()), nil
}

// nonNullSchema rewrites the output schema's `"type": ["null", X]` (what the generator makes
// of slices, pointers and maps) to X: wasmbox never sends null there (empty lists are [],
// absent objects are left out), and strict validators, MCP Inspector's --strict among them,
// warn about the union.
func nonNullSchema() mcplib.ToolOption {
	return func(t *mcplib.Tool) {
		for _, v := range t.OutputSchema.Properties {
			stripNull(v)
		}
	}
}

func stripNull(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if types, ok := m["type"].([]any); ok {
		var rest []any
		for _, t := range types {
			if t != "null" {
				rest = append(rest, t)
			}
		}
		if len(rest) == 1 {
			m["type"] = rest[0]
		} else {
			m["type"] = rest
		}
	}
	for _, key := range []string{"properties", "items", "additionalProperties"} {
		switch sub := m[key].(type) {
		case map[string]any:
			if key == "properties" {
				for _, p := range sub {
					stripNull(p)
				}
			} else {
				stripNull(sub)
			}
		}
	}
}
