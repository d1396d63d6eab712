package bash

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wasmbox/runtime"
)

// BenchmarkQuota measures what holding the workspace quota costs bash: a 100 MB write by one
// program, and a run of ten short programs in a workspace of 100 files, each with the watcher
// and the per-program file-size limit on and off.
func BenchmarkQuota(b *testing.B) {
	limits := runtime.Limits{Timeout: time.Minute, WorkspaceQuota: 1 << 30}
	for _, tc := range []struct{ name, code string }{
		{"write100MB", "head -c 100000000 /dev/zero > big"},
		{"programs10", "for i in 0 1 2 3 4 5 6 7 8 9; do cat /dev/null > out; done"},
	} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/accounting=%v", tc.name, on), func(b *testing.B) {
				watchWorkspace, limitFileSize = on, on
				defer func() { watchWorkspace, limitFileSize = true, true }()
				e, err := New(WithDirectExec())
				if err != nil {
					b.Fatal(err)
				}
				dir := b.TempDir()
				for i := range 100 {
					os.WriteFile(filepath.Join(dir, fmt.Sprint("f", i)), []byte("x"), 0o644)
				}
				ip, _ := e.New(b.Context(), dir)
				defer ip.Close()
				for b.Loop() {
					res, err := ip.Run(b.Context(), runtime.Request{Language: runtime.Bash, Code: tc.code, Limits: limits})
					if err != nil || !res.OK() {
						b.Fatalf("%v %+v", err, res)
					}
				}
			})
		}
	}
}
