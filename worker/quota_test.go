package worker_test

import (
	"archive/zip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wasmbox/runtime"
	"wasmbox/sessions"
	"wasmbox/wasm"
	"wasmbox/worker"
)

// quotaLimits are small, so that attacks are quick.
func quotaLimits() runtime.Limits {
	l := runtime.DefaultLimits()
	l.Timeout = 15 * time.Second
	l.WorkspaceQuota = 10 << 20
	l.WorkspaceEntries = 1000
	return l
}

// onDisk measures a workspace from outside, as an operator would: du's allocated bytes and
// find's entry count.
func onDisk(t *testing.T, dir string) (bytes int64, entries int) {
	t.Helper()
	out, err := exec.Command("du", "-s", "-B1", dir).Output()
	if err != nil {
		t.Fatalf("du: %v", err)
	}
	bytes, _ = strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	out, err = exec.Command("find", dir, "-mindepth", "1").Output()
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	return bytes, strings.Count(string(out), "\n")
}

// bombZip writes a zip of n members of size bytes of zeros each.
func bombZip(t *testing.T, path string, n, size int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	zero := make([]byte, 1<<20)
	for i := range n {
		w, _ := zw.Create(fmt.Sprintf("z%02d", i))
		for left := size; left > 0; left -= len(zero) {
			w.Write(zero[:min(left, len(zero))])
		}
	}
	zw.Close()
}

type quotaAttack struct {
	name  string
	lang  runtime.Language
	code  string
	setup func(t *testing.T, dir string)
}

var quotaAttacks = []quotaAttack{
	{name: "40 writers", lang: runtime.Bash, code: "for i in $(seq 40); do head -c 60000000 /dev/zero > f$i & done; wait"},
	{name: "zip bomb", lang: runtime.Bash, code: "unzip -q bomb.zip -d out",
		setup: func(t *testing.T, dir string) { bombZip(t, filepath.Join(dir, "bomb.zip"), 30, 60<<20) }},
	{name: "deep directories", lang: runtime.Bash, code: "mkdir -p " + strings.Repeat("d/", 40) + "x; for i in $(seq 60); do mkdir d; cd d; done; head -c 30000000 /dev/zero > f"},
	{name: "hard link renamed onto itself", lang: runtime.Python, code: `import os
open('seed', 'wb').write(b'x' * (8 << 20))
for i in range(200):
    try:
        os.link('seed', 'seed2'); os.rename('seed', 'seed2'); os.unlink('seed2')
        open('seed', 'wb').write(b'x' * (8 << 20))
    except OSError:
        pass`},
	{name: "two handles", lang: runtime.Python, code: `a = open('x', 'wb')
for i in range(48):
    open('x', 'wb').close()
    try:
        a.write(b'y' * (1 << 20)); a.flush()
    except OSError:
        break`},
	{name: "directories then files", lang: runtime.Python, code: `import os
for i in range(100000):
    try: os.mkdir('d%d' % i)
    except OSError: break
for i in range(100000):
    try: open('f%d' % i, 'w').close()
    except OSError: break`},
	{name: "xargs touch", lang: runtime.Bash, code: "seq -w 1 200000 | xargs touch"},
	{name: "python big write", lang: runtime.Python, code: "open('big', 'wb').write(b'z' * (40 << 20))"},
}

func TestSupervisor_quota(t *testing.T) {
	if testing.Short() {
		t.Skip("writes hundreds of MB")
	}
	l := quotaLimits()
	s := newSupervisor(t, worker.WithSetup(worker.Setup{Limits: l, Confine: confinement(t), ImageDir: imageDir(t), CacheDir: wasm.DefaultCacheDir()}), worker.WithPoolSize(2))
	slack := int64(16 << 20)
	attack := func(t *testing.T, a quotaAttack) {
		ip, dir := open(t, s)
		if a.setup != nil {
			a.setup(t, dir)
		}
		res, err := ip.Run(context.Background(), runtime.Request{Language: a.lang, Code: a.code, Limits: l})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if a.setup != nil {
			os.Remove(filepath.Join(dir, "bomb.zip")) // the test's own upload is not the attack
		}
		bytes, entries := onDisk(t, dir)
		t.Logf("%s: %s after %s; on disk %.1f MiB, %d entries", a.name, kindOf(res), res.Duration.Round(time.Millisecond), float64(bytes)/(1<<20), entries)
		if bytes > l.WorkspaceQuota+slack {
			t.Errorf("%s: %d MiB on disk, quota %d MiB (+16 MiB allowed)", a.name, bytes>>20, l.WorkspaceQuota>>20)
		}
		if entries > l.WorkspaceEntries {
			t.Errorf("%s: %d entries, cap %d", a.name, entries, l.WorkspaceEntries)
		}
		// The session goes on, and deleting files frees the quota.
		clean := run(t, ip, runtime.Bash, "cd; find . -mindepth 1 -delete && head -c 5000000 /dev/zero > after && wc -c < after")
		if strings.TrimSpace(clean.Stdout) != "5000000" {
			t.Errorf("%s: cleaning up and writing again: %q %+v %q", a.name, clean.Stdout, clean.Error, clean.Stderr)
		}
	}
	for _, a := range quotaAttacks {
		t.Run(a.name, func(t *testing.T) { attack(t, a) })
	}
	t.Run("four at once", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, i := range []int{0, 1, 5, 6} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(quotaAttacks[i].name, func(t *testing.T) { attack(t, quotaAttacks[i]) })
			}()
		}
		wg.Wait()
	})
}

// TestSupervisor_quota_messages: what a guest sees when it hits a limit names the limit.
func TestSupervisor_quota_messages(t *testing.T) {
	l := quotaLimits()
	s := newSupervisor(t, worker.WithSetup(worker.Setup{Limits: l, Confine: confinement(t), ImageDir: imageDir(t), CacheDir: wasm.DefaultCacheDir()}))
	ip, _ := open(t, s)
	cases := []struct {
		lang     runtime.Language
		code     string
		kind     runtime.ErrorKind
		contains string
	}{
		{runtime.Python, "open('a', 'wb').write(b'x' * (20 << 20))", runtime.ErrException, "workspace quota of 10 MiB is full"},
		{runtime.Bash, "head -c 30000000 /dev/zero > b", runtime.ErrDenied, "quota of 10 MiB"},
		{runtime.Bash, "mkdir -p " + strings.Repeat("d/", 40), runtime.ErrDenied, "too long or too deep"},
		{runtime.Python, "import os\nfor i in range(2000): os.mkdir('d%d' % i)", runtime.ErrException, "maximum of 1000 files and directories"},
	}
	for _, tc := range cases {
		res := run(t, ip, tc.lang, tc.code)
		if kindOf(res) != tc.kind || !strings.Contains(res.Stderr+errMessage(res), tc.contains) {
			t.Errorf("%s %.40q: %s %q %q, want %s saying %q", tc.lang, tc.code, kindOf(res), errMessage(res), res.Stderr, tc.kind, tc.contains)
		}
		run(t, ip, runtime.Bash, "cd; find . -mindepth 1 -delete")
	}
}

func kindOf(r *runtime.Result) runtime.ErrorKind {
	if r.Error == nil {
		return "ok"
	}
	return r.Error.Kind
}

func errMessage(r *runtime.Result) string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Message
}

// TestSupervisor_snapshotQuota: a session's snapshot lives outside its workspace and does not
// count against the quota; the snapshot cap holds, and a session over it is reset with the
// reason.
func TestSupervisor_snapshotQuota(t *testing.T) {
	l := quotaLimits()
	setup := worker.Setup{Limits: l, Confine: confinement(t), ImageDir: imageDir(t), CacheDir: wasm.DefaultCacheDir(),
		SnapshotCap: 16 << 20}
	s := newSupervisor(t, worker.WithSetup(setup))
	// 6 MB of incompressible state: a snapshot of that and the pages the session touched in the
	// base image (numpy, pandas), under the 16 MiB cap, plus
	// a workspace filled to 9 of its 10 MiB.
	ip, dir := open(t, s)
	run(t, ip, runtime.Python, "import os\nkeep = os.urandom(6_000_000)")
	run(t, ip, runtime.Bash, "head -c 9437184 /dev/urandom > fill.bin")
	s.StopIdle(-1)
	fi, err := os.Stat(filepath.Join(filepath.Dir(dir), sessions.SnapshotFile))
	if err != nil || fi.Size() < 6_000_000 {
		t.Fatalf("snapshot: %v %v", fi, err)
	}
	res := run(t, ip, runtime.Python, "print(len(keep))\n_ = open('more.bin', 'wb').write(b'x' * 500_000)")
	if res.Stdout != "6000000\n" || res.Error != nil {
		t.Errorf("after the freeze: %q %+v (the snapshot must not count against the quota)", res.Stdout, res.Error)
	}
	// 20 MB of state is over the cap: the session is reset, and says why.
	ip2, _ := open(t, s)
	run(t, ip2, runtime.Python, "import os\nkeep = os.urandom(20_000_000)")
	s.StopIdle(-1)
	res = run(t, ip2, runtime.Python, "print('keep' in globals())")
	if res.Stdout != "False\n" || !res.StateReset || !strings.Contains(res.Stderr, "cap") {
		t.Errorf("over the snapshot cap: %q reset=%v stderr=%q", res.Stdout, res.StateReset, res.Stderr)
	}
}
