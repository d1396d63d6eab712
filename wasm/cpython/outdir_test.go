package cpython

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The scripts that remove and recreate their output directory refuse one they did not make,
// before downloading anything, and leave it as it was.
func TestScripts_foreignOutdir(t *testing.T) {
	for _, script := range []string{"wheels.sh", "testdeps.sh", "native-analysis.sh"} {
		t.Run(script, func(t *testing.T) {
			dir := t.TempDir()
			keep := filepath.Join(dir, "notes.txt")
			if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("bash", script, dir).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "was not made by "+script) {
				t.Errorf("%s %s: %v\n%s\nwant a refusal", script, dir, err, out)
			}
			if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
				t.Errorf("%s touched the directory: %q %v", script, b, err)
			}
		})
	}
}
