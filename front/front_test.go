package front

import (
	"testing"

	"wasmbox/sessions"
)

func TestNew_config(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without sessions succeeded")
	}
	mgr, _ := sessions.New(sessions.WithDataDir(t.TempDir()), sessions.WithReapInterval(0))
	defer mgr.Close()
	if _, err := New(Config{Sessions: mgr, APIKeys: []string{"ok", " "}}); err == nil {
		t.Error("New with an empty API key succeeded")
	}
	if _, err := New(Config{Sessions: mgr, RatePerMinute: -1}); err == nil {
		t.Error("New with a negative rate succeeded")
	}
}
