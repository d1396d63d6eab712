package cpython

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fncasts.py, run on clang's warnings for testdata/fncasts.c, reports exactly the casts the
// file marks "trap" (a function called with another signature), accepts the correct ones, the
// stored pointers and the allowed one, and fails.
func TestFncasts(t *testing.T) {
	var tools []string
	for _, tool := range []string{"clang-16", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			tools = append(tools, tool)
		}
	}
	if len(tools) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v not installed (the build needs them)", tools)
		}
		t.Skipf("%v not installed", tools)
	}
	dir := t.TempDir()
	cc := exec.Command("clang-16", "--target=wasm32-wasi", "-c", "-Wcast-function-type-strict",
		filepath.Join("testdata", "fncasts.c"), "-o", filepath.Join(dir, "fncasts.o"))
	warnings, err := cc.CombinedOutput()
	if err != nil {
		t.Fatalf("clang-16: %v\n%s", err, warnings)
	}
	log := filepath.Join(dir, "build.log")
	if err := os.WriteFile(log, warnings, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", "fncasts.py", ".", log, "--allow", "stored_elsewhere:kept elsewhere").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("fncasts.py: %v, want exit status 1\n%s", err, out)
	}

	src, err := os.ReadFile(filepath.Join("testdata", "fncasts.c"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, line := range strings.Split(string(src), "\n") {
		n := 0
		switch {
		case strings.Contains(line, "/* trap */"):
			n = 1
		case strings.Contains(line, "/* two traps */"):
			n = 2
		}
		for range n {
			want = append(want, "testdata/fncasts.c:"+strconv.Itoa(i+1))
		}
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^(testdata/fncasts\.c:\d+): .*would trap on wasm32$`).FindAllStringSubmatch(string(out), -1) {
		got = append(got, m[1])
	}
	if len(want) < 5 || !slices.Equal(got, want) {
		t.Errorf("reported %v, want %v\n%s", got, want, out)
	}
	for _, s := range []string{"5 would trap", "1 allowed", "1 stored pointer", "allowed 1 cast(s) of stored_elsewhere: kept elsewhere"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("fncasts.py's report lacks %q:\n%s", s, out)
		}
	}
}
