package sessions

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wasmbox/runtime"
)

// TestManager_WriteFile_parallel: uploads racing for the last room of a quota cannot all win.
func TestManager_WriteFile_parallel(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir(), WithLimits(runtime.Limits{Timeout: 5 * time.Second, WorkspaceQuota: 10 << 20}))
	s, _ := m.Create("alice")
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.WriteFile(s.ID, fmt.Sprintf("up%d", i), make([]byte, 4500<<10))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, ErrQuota) && strings.Contains(err.Error(), "10 MiB quota"):
				refused++
			default:
				t.Errorf("upload %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	out, _ := exec.Command("du", "-s", "-B1", filepath.Join(m.cfg.dataDir, "sessions", s.ID, "workspace")).Output()
	used, _ := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if accepted != 2 || refused != 6 || used > 10<<20 {
		t.Errorf("accepted %d, refused %d, %d bytes on disk; want 2, 6 and at most the 10 MiB quota", accepted, refused, used)
	}
	// Replacing a file counts only the difference, and deleting frees the room.
	if _, err := m.WriteFile(s.ID, "up-replaced", make([]byte, 1<<20)); err != nil {
		t.Errorf("a small upload: %v", err)
	}
	files, _ := m.Files(s.ID)
	for _, f := range files {
		m.DeleteFile(s.ID, f.Path)
	}
	if _, err := m.WriteFile(s.ID, "after", make([]byte, 9<<20)); err != nil {
		t.Errorf("after deleting: %v", err)
	}
}

// TestManager_WriteFile_entries: uploads respect the entry cap and the path caps.
func TestManager_WriteFile_entries(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir(), WithLimits(runtime.Limits{Timeout: 5 * time.Second, WorkspaceEntries: 5}))
	s, _ := m.Create("alice")
	var errs []error
	for i := range 8 {
		_, err := m.WriteFile(s.ID, fmt.Sprintf("f%d", i), []byte("x"))
		errs = append(errs, err)
	}
	if errs[4] != nil || errs[5] == nil || !strings.Contains(errs[5].Error(), "maximum is 5") {
		t.Errorf("entry cap: %v", errs)
	}
	if _, err := m.WriteFile(s.ID, "f0", []byte("replaced")); err != nil {
		t.Errorf("replacing a file at the cap: %v", err)
	}
	if _, err := m.WriteFile(s.ID, strings.Repeat("d/", 40)+"f", []byte("x")); !errors.Is(err, ErrBadPath) {
		t.Errorf("a path 41 levels deep: %v", err)
	}
}
