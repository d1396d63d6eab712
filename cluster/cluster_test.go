package cluster

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"wasmbox/internal/clustertest"
)

func TestParseStore(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		url  string
		env  func(string) string
		want StoreConfig
		err  string
	}{
		{url: "s3://b/p/q", env: env("AWS_REGION", "eu-west-1"), want: StoreConfig{Bucket: "b", Prefix: "p/q/", Endpoint: "s3.eu-west-1.amazonaws.com", Secure: true, Region: "eu-west-1"}},
		{url: "s3://b", env: env(), want: StoreConfig{Bucket: "b", Endpoint: "s3.amazonaws.com", Secure: true}},
		{url: "s3://b/", env: env("AWS_ENDPOINT_URL", "http://minio:9000", "AWS_DEFAULT_REGION", "x"), want: StoreConfig{Bucket: "b", Endpoint: "minio:9000", Region: "x"}},
		{url: "s3://b/p", env: env("AWS_ENDPOINT_URL", "http://other", "AWS_ENDPOINT_URL_S3", "https://s3.example:8443"), want: StoreConfig{Bucket: "b", Prefix: "p/", Endpoint: "s3.example:8443", Secure: true}},
		{url: "http://b/p", env: env(), err: "want s3://bucket/prefix"},
		{url: "s3:///p", env: env(), err: "want s3://bucket/prefix"},
		{url: "s3://key:secret@b/p", env: env(), err: "want s3://bucket/prefix"},
		{url: "s3://b/p", env: env("AWS_ENDPOINT_URL", "minio:9000"), err: "want http(s)://host[:port]"},
	} {
		got, err := ParseStore(tc.url, tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
}

func objectsFor(t *testing.T, s3 *clustertest.S3) *Objects {
	t.Helper()
	c, err := ParseStore("s3://"+s3.Bucket+"/"+strings.ReplaceAll(t.Name(), "/", "_"), func(k string) string {
		for _, kv := range s3.Env() {
			if name, v, _ := strings.Cut(kv, "="); name == k {
				return v
			}
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Creds = credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")
	o, err := OpenObjects(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestCluster(t *testing.T) {
	s3 := clustertest.StartS3(t)
	rd := clustertest.StartRedis(t)
	t.Run("objects", func(t *testing.T) { testObjects(t, objectsFor(t, s3)) })
	t.Run("leases", func(t *testing.T) { testLeases(t, rd) })
	t.Run("checkpoints", func(t *testing.T) { testCheckpoints(t, objectsFor(t, s3), rd) })
	t.Run("fence", func(t *testing.T) { testFence(t, objectsFor(t, s3), rd) })
	t.Run("redis_restart", func(t *testing.T) { testRedisRestart(t, objectsFor(t, s3), rd) })
	t.Run("store_unavailable", func(t *testing.T) { testStoreUnavailable(t, objectsFor(t, s3), rd, s3) })
	t.Run("directory", func(t *testing.T) { testDirectory(t, rd) })
	t.Run("remove", func(t *testing.T) { testRemove(t, objectsFor(t, s3), rd) })
}

func testDirectory(t *testing.T, rd *clustertest.Redis) {
	ctx := context.Background()
	l, err := OpenLeases(rd.URL, t.Name()+":")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	at := time.UnixMilli(1_700_000_000_000)
	e := func(id, owner string, ago time.Duration) Listing {
		return Listing{ID: id, Owner: owner, LastUsed: at.Add(-ago), Info: []byte(`{"id":"` + id + `"}`)}
	}
	// The caps hold per owner and in all, and a listed session is only updated.
	for _, tc := range []struct {
		e    Listing
		want Full
	}{
		{e("a1", "A", 3*time.Minute), NotFull}, {e("a2", "A", 2*time.Minute), NotFull}, {e("a3", "A", 0), OwnerFull},
		{e("a1", "A", time.Minute), NotFull}, {e("b1", "B", 5*time.Minute), NotFull}, {e("c1", "C", 0), AllFull},
	} {
		if full, err := l.Admit(ctx, tc.e, 2, 3); err != nil || full != tc.want {
			t.Fatalf("admit %s of %s: %v %v, want %v", tc.e.ID, tc.e.Owner, full, err, tc.want)
		}
	}
	ids := func(list []Listing, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range list {
			out = append(out, e.ID+"@"+e.Owner)
		}
		return strings.Join(out, " ")
	}
	if got := ids(l.Listed(ctx, "A", 10)); got != "a1@A a2@A" {
		t.Fatalf("A's sessions: %q, want a1 (used last) then a2", got)
	}
	if list, _ := l.Listed(ctx, "A", 1); len(list) != 1 || string(list[0].Info) != `{"id":"a1"}` || !list[0].LastUsed.Equal(at.Add(-time.Minute)) {
		t.Fatalf("A's newest: %+v", list)
	}
	if got := ids(l.Idle(ctx, "", at.Add(-90*time.Second), 10)); got != "b1@B a2@A" {
		t.Fatalf("idle for 90 s: %q, want b1 then a2", got)
	}
	if got := ids(l.Idle(ctx, "A", at, 10)); got != "a2@A a1@A" {
		t.Fatalf("A's idle: %q", got)
	}
	if err := l.Unlist(ctx, "a2"); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Count(ctx, "A"); err != nil || n != 1 {
		t.Fatalf("A after unlisting a2: %d %v", n, err)
	}
	if full, err := l.Admit(ctx, e("a3", "A", 0), 2, 3); err != nil || full != NotFull {
		t.Fatalf("admit a3 after a2 went: %v %v", full, err)
	}
	// Touch lists a session the directory lost (Redis lost its data), whatever the caps.
	if err := l.Touch(ctx, e("d1", "D", 0)); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Count(ctx, ""); n != 4 {
		t.Fatalf("%d sessions listed, want 4", n)
	}
	// Bad input is refused before Redis sees it.
	for _, bad := range []Listing{{ID: "x", Owner: "a b"}, {ID: "x", Owner: "o\nx"}, {ID: "", Owner: "o"}, {ID: "x", Owner: "o", Info: make([]byte, maxInfo+1)}} {
		if _, err := l.Admit(ctx, bad, 9, 9); err == nil {
			t.Fatalf("listing %+v was admitted", bad)
		}
	}
	// A rate shared by every replica: a burst of the allowance, then refusals; keys apart.
	for i := range 5 {
		if ok, err := l.Take(ctx, "k1", 5); !ok || err != nil {
			t.Fatalf("request %d of 5 a minute: %v %v", i+1, ok, err)
		}
	}
	if ok, err := l.Take(ctx, "k1", 5); ok || err != nil {
		t.Fatalf("a 6th request: %v %v", ok, err)
	}
	if ok, _ := l.Take(ctx, "k2", 5); !ok {
		t.Fatal("another key was refused")
	}
	if _, err := l.Take(ctx, "k 3", 5); err == nil {
		t.Fatal("a key with a space was taken")
	}
	// The allowance comes back with time: at 1200 a minute, one request every 50 ms.
	allowed := 0
	for ok := true; ok && allowed <= 2000; {
		if ok, _ = l.Take(ctx, "k4", 1200); ok {
			allowed++
		}
	}
	if allowed < 1200 || allowed > 2000 {
		t.Fatalf("%d requests allowed before the first refusal, want the burst of 1200 and those refilled meanwhile", allowed)
	}
	time.Sleep(150 * time.Millisecond)
	if ok, _ := l.Take(ctx, "k4", 1200); !ok {
		t.Fatal("no request allowed 150 ms after the burst was spent")
	}
	// LibreChat's runtime session hints: kept per caller, at most maxHintsPerCaller of them.
	if id, err := l.Hint(ctx, "c0ffee", "aa"); id != "" || err != nil {
		t.Fatalf("a hint never set: %q %v", id, err)
	}
	if err := l.SetHint(ctx, "c0ffee", "aa", "s1"); err != nil {
		t.Fatal(err)
	}
	if id, err := l.Hint(ctx, "c0ffee", "aa"); id != "s1" || err != nil {
		t.Fatalf("a hint set: %q %v", id, err)
	}
	if id, _ := l.Hint(ctx, "beef", "aa"); id != "" {
		t.Fatalf("another caller's hint: %q", id)
	}
	for i := range maxHintsPerCaller + 40 {
		if err := l.SetHint(ctx, "c0ffee", fmt.Sprintf("%x", 0x1000+i), "s2"); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := l.rdb.HLen(ctx, l.ns+"hints:c0ffee").Result(); n != maxHintsPerCaller {
		t.Fatalf("%d hints kept for one caller, want %d", n, maxHintsPerCaller)
	}
	if _, err := l.Hint(ctx, "not hex", "aa"); err == nil {
		t.Fatal("a caller that is not a digest was read")
	}
	// One replica at a time has a turn; a flag is there until Redis loses it.
	if ok, err := l.Turn(ctx, "sweep", "r1", time.Minute); !ok || err != nil {
		t.Fatalf("first turn: %v %v", ok, err)
	}
	if ok, err := l.Turn(ctx, "sweep", "r2", time.Minute); ok || err != nil {
		t.Fatalf("second turn: %v %v", ok, err)
	}
	if ok, _ := l.Marked(ctx, "built"); ok {
		t.Fatal("a flag never set is set")
	}
	if err := l.Mark(ctx, "built"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Marked(ctx, "built"); !ok {
		t.Fatal("a flag set is not set")
	}
}

// testRemove: a session removed for eviction or expiry is taken from its holder once idle, and
// its objects, leases and listing go.
func testRemove(t *testing.T, o *Objects, rd *clustertest.Redis) {
	ctx := context.Background()
	l, _ := OpenLeases(rd.URL, t.Name()+":")
	defer l.Close()
	cp := NewCheckpoints(o, SkipTemp)
	// A fresh store's first write can take seconds (SeaweedFS makes its volumes): leases of
	// 10 s outlast it.
	a := NewStore(l, cp, "replica-a", 10*time.Second, time.Minute)
	defer a.Close()
	b := NewStore(l, cp, "replica-b", 10*time.Second, time.Minute)
	defer b.Close()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"session.json": "{}", "workspace/f": "x"})
	h, err := a.Hold(ctx, "s1", dir, Create)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit(ctx, Listing{ID: "s1", Owner: "o", LastUsed: time.Now()}, 9, 9); err != nil {
		t.Fatal(err)
	}
	if ids, err := b.Sessions(ctx, 10); err != nil || len(ids) != 1 || ids[0] != "s1" {
		t.Fatalf("stored sessions: %v %v", ids, err)
	}
	// In use on a: b's removal waits, and fails when its time is up.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = b.Remove(short, "s1")
	cancel()
	if !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("remove of a session in use: %v, want ErrLeaseHeld", err)
	}
	if ok, _ := a.Has(ctx, "s1"); !ok {
		t.Fatal("a session in use was removed")
	}
	// Idle (held warm by a): a lets it go when asked, and b removes it.
	h.Release()
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.Remove(wait, "s1"); err != nil {
		t.Fatalf("remove of an idle session held warm elsewhere: %v", err)
	}
	if keys, err := o.List(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("objects left after removal: %v", keys)
	}
	if n, _ := l.Count(ctx, ""); n != 0 {
		t.Fatalf("%d sessions still listed", n)
	}
	if holder, _ := l.HolderOf(ctx, "s1"); holder != "" {
		t.Fatalf("lease left with %s", holder)
	}
	if _, err := a.Hold(ctx, "s1", dir, Existing); !errors.Is(err, ErrGone) {
		t.Fatalf("hold after removal: %v, want ErrGone", err)
	}

	// A session held warm whose local copy went (Forget) is restored by its next hold, not
	// committed empty over its checkpoint.
	dir2 := t.TempDir()
	writeTree(t, dir2, map[string]string{"session.json": "{}", "workspace/keep.txt": "kept"})
	h, err = a.Hold(ctx, "s2", dir2, Create)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	h.Release()
	a.Forget("s2")
	os.RemoveAll(dir2)
	h, err = a.Hold(ctx, "s2", dir2, Existing)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	if b, err := os.ReadFile(filepath.Join(dir2, "workspace", "keep.txt")); err != nil || string(b) != "kept" || !h.Stale() {
		t.Fatalf("a warm hold whose copy was forgotten: %q %v, stale %v", b, err, h.Stale())
	}
}

func testObjects(t *testing.T, o *Objects) {
	ctx := context.Background()
	e1, err := o.PutBytes(ctx, "k", []byte("one"), Condition{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.PutBytes(ctx, "k", []byte("two"), Condition{IfAbsent: true}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("second write if absent: %v, want ErrPrecondition", err)
	}
	e2, err := o.PutBytes(ctx, "k", []byte("three"), Condition{IfMatch: e1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.PutBytes(ctx, "k", []byte("four"), Condition{IfMatch: e1}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("write with a stale ETag: %v, want ErrPrecondition", err)
	}
	b, etag, err := o.Get(ctx, "k", 100)
	if err != nil || string(b) != "three" || etag != e2 {
		t.Fatalf("get: %q %q %v; want three %q", b, etag, err, e2)
	}
	if _, _, err := o.Get(ctx, "k", 2); err == nil {
		t.Fatal("an object larger than the limit was read")
	}
	if _, _, err := o.Get(ctx, "missing", 100); !errors.Is(err, ErrNoObject) {
		t.Fatalf("missing object: %v", err)
	}
	if err := o.DeletePrefix(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if keys, err := o.List(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("after delete: %v %v", keys, err)
	}
}

func testLeases(t *testing.T, rd *clustertest.Redis) {
	ctx := context.Background()
	l, err := OpenLeases(rd.URL, t.Name()+":")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := l.Acquire(ctx, "s1", "replica-a", time.Minute, 0)
	if err != nil || a.Generation != 1 {
		t.Fatalf("first lease: %+v %v", a, err)
	}
	_, err = l.Acquire(ctx, "s1", "replica-b", time.Minute, 0)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder != "replica-a" || held.TTL <= 0 {
		t.Fatalf("second holder: %v, want held by replica-a", err)
	}
	if wanted, err := l.Renew(ctx, a, 200*time.Millisecond); err != nil || wanted {
		t.Fatal(wanted, err)
	}
	if err := l.Want(ctx, "s1", "replica-a", time.Minute); err != nil {
		t.Fatal(err)
	}
	if wanted, err := l.Renew(ctx, a, 200*time.Millisecond); err != nil || !wanted {
		t.Fatalf("renew after another replica asked: wanted %v, %v", wanted, err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := l.Renew(ctx, a, time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renew after expiry: %v, want ErrLeaseLost", err)
	}
	b, err := l.Acquire(ctx, "s1", "replica-b", time.Minute, 0)
	if err != nil || b.Generation != 2 {
		t.Fatalf("lease after expiry: %+v %v", b, err)
	}
	if err := l.Release(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(ctx, "s1", "replica-c", time.Minute, 0); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("a stale holder's release freed the lease: %v", err)
	}
	if err := l.Release(ctx, b); err != nil {
		t.Fatal(err)
	}
	c, err := l.Acquire(ctx, "s1", "replica-c", time.Minute, 10)
	if err != nil || c.Generation != 11 {
		t.Fatalf("lease above a floor of 10: %+v %v", c, err)
	}
	// Wait takes the lease as soon as its holder lets it go.
	go func() {
		time.Sleep(100 * time.Millisecond)
		l.Release(ctx, c)
	}()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, err := l.Wait(wctx, "s1", "replica-d", time.Minute, 0)
	if err != nil || d.Generation != 12 {
		t.Fatalf("wait: %+v %v", d, err)
	}
	if err := l.SetWarm(ctx, "s1", "replica-d", time.Minute); err != nil {
		t.Fatal(err)
	}
	if w, err := l.Warm(ctx, "s1"); err != nil || w != "replica-d" {
		t.Fatalf("warm: %q %v", w, err)
	}
	if _, err := l.Acquire(ctx, "s2", "has space", time.Minute, 0); err == nil {
		t.Fatal("a holder name with a space was accepted")
	}
	if err := l.Forget(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if w, _ := l.Warm(ctx, "s1"); w != "" {
		t.Fatalf("warm after forget: %q", w)
	}
}

// writeTree makes dir hold exactly files (path -> content; a trailing / makes a directory).
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o700); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree lists dir as writeTree takes it.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, got, want map[string]string) {
	t.Helper()
	// Directories of files are implied.
	norm := func(m map[string]string) []string {
		var out []string
		for p, c := range m {
			if strings.HasSuffix(p, "/") {
				continue
			}
			if len(c) > 40 {
				c = fmt.Sprintf("%d bytes %x", len(c), sha256.Sum256([]byte(c)))
			}
			out = append(out, p+"="+c)
		}
		sort.Strings(out)
		return out
	}
	if g, w := norm(got), norm(want); fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("tree:\n got %v\nwant %v", g, w)
	}
	for p := range want {
		if strings.HasSuffix(p, "/") {
			if _, ok := got[p]; !ok {
				t.Fatalf("directory %s missing: %v", p, got)
			}
		}
	}
}

func blobs(t *testing.T, o *Objects, id string) []string {
	keys, err := o.List(context.Background(), "sessions/"+id+"/blobs/")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func testCheckpoints(t *testing.T, o *Objects, rd *clustertest.Redis) {
	ctx := context.Background()
	l, err := OpenLeases(rd.URL, t.Name()+":")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cp := NewCheckpoints(o, func(rel string) bool { return strings.Contains(rel, ".tmp-") })
	t.Run("read while a commit prunes", func(t *testing.T) { testReadPruned(t, cp, l) })

	a := t.TempDir()
	first := map[string]string{
		"session.json": `{"id":"s"}`, "history.log": "one\n", "python.snapshot": strings.Repeat("x", 1<<20),
		"workspace/data.csv": "a,b\n1,2\n", "workspace/sub/deep.txt": "deep", "workspace/empty/": "", "workspace/same1": "same", "workspace/same2": "same",
	}
	writeTree(t, a, first)
	writeTree(t, a, map[string]string{"session.json.tmp-123": "partial"})
	// A link to a host file is never committed (nor followed).
	if err := os.Symlink("/etc/hostname", filepath.Join(a, "workspace", "host")); err != nil {
		t.Fatal(err)
	}

	lease, err := l.Acquire(ctx, "s", "replica-a", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	hd, err := cp.Open(ctx, "s", lease)
	if err != nil {
		t.Fatal(err)
	}
	if err := hd.Commit(ctx, a); err != nil {
		t.Fatal(err)
	}
	if n := len(blobs(t, o, "s")); n != 6 {
		t.Fatalf("%d blobs after the first commit, want 6 (two files share content)", n)
	}

	// A replica that never held the session restores it whole.
	l.Release(ctx, lease)
	lease2, err := l.Acquire(ctx, "s", "replica-b", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := cp.Open(ctx, "s", lease2)
	if err != nil {
		t.Fatal(err)
	}
	b := t.TempDir()
	writeTree(t, b, map[string]string{"stale.txt": "gone after restore", "workspace/data.csv": "old"})
	// What a guest may leave in its workspace: a link out of it where the checkpoint has a
	// directory, and one to a host file. The restore writes nothing through either.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(b, "workspace", "sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(b, "workspace", "same1")); err != nil {
		t.Fatal(err)
	}
	if err := hb.Restore(ctx, b); err != nil {
		t.Fatal(err)
	}
	sameTree(t, readTree(t, b), first)
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("the restore wrote through a symbolic link: %v", entries)
	}

	// Changes: one file rewritten, one removed, one added; only new contents are uploaded and
	// the blobs the old checkpoint alone used are pruned.
	writeTree(t, b, map[string]string{"workspace/data.csv": "a,b\n3,4\n", "workspace/new.txt": "new", "history.log": "one\ntwo\n"})
	if err := os.Remove(filepath.Join(b, "workspace/sub/deep.txt")); err != nil {
		t.Fatal(err)
	}
	if err := hb.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	want := readTree(t, b)
	hb.Pruned()
	if n := len(blobs(t, o, "s")); n != 6 {
		t.Fatalf("%d blobs after the second commit, want 6: %v", n, blobs(t, o, "s"))
	}
	if manifests, _ := o.List(ctx, "sessions/s/ckpt/"); len(manifests) != 0 {
		t.Fatalf("manifests written: %v, want none (the head holds the list)", manifests)
	}
	head, _, err := cp.ReadHead(ctx, "s")
	names := map[string]bool{}
	for _, f := range head.Files {
		names[f.Path] = true
	}
	if err != nil || head.Seq != 2 || !names["workspace/new.txt"] || names["workspace/sub/deep.txt"] {
		t.Fatalf("head after the second commit: seq %d, files %v, %v", head.Seq, names, err)
	}

	// The first replica, holding an older copy, catches up.
	l.Release(ctx, lease2)
	lease3, _ := l.Acquire(ctx, "s", "replica-a", time.Minute, 0)
	hc, err := cp.Open(ctx, "s", lease3)
	if err != nil {
		t.Fatal(err)
	}
	if hc.Head().Seq != 2 {
		t.Fatalf("head %+v, want seq 2", hc.Head())
	}
	if err := hc.Restore(ctx, a); err != nil {
		t.Fatal(err)
	}
	want["session.json.tmp-123"] = "partial" // skipped: left as it was
	sameTree(t, readTree(t, a), want)
	if _, err := os.Stat(filepath.Join(a, "session.json.tmp-123")); err != nil {
		t.Fatalf("a skipped file was touched by the restore: %v", err)
	}

	if err := cp.Delete(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := o.List(ctx, "sessions/s/"); len(keys) != 0 {
		t.Fatalf("left after delete: %v", keys)
	}
}

// testFence: a holder whose lease expired while it was stopped cannot commit over its
// successor, before or after the successor's own commit.
func testFence(t *testing.T, o *Objects, rd *clustertest.Redis) {
	ctx := context.Background()
	l, _ := OpenLeases(rd.URL, t.Name()+":")
	defer l.Close()
	cp := NewCheckpoints(o, nil)
	dirA, dirB := t.TempDir(), t.TempDir()

	la, _ := l.Acquire(ctx, "f", "replica-a", 150*time.Millisecond, 0)
	ha, err := cp.Open(ctx, "f", la)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dirA, map[string]string{"x": "1"})
	if err := ha.Commit(ctx, dirA); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // replica-a is "stopped" past its lease

	lb, err := l.Acquire(ctx, "f", "replica-b", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := cp.Open(ctx, "f", lb)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dirA, map[string]string{"x": "stale"})
	if err := ha.Commit(ctx, dirA); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale commit before the successor's: %v, want ErrLeaseLost", err)
	}
	if err := hb.Restore(ctx, dirB); err != nil {
		t.Fatal(err)
	}
	sameTree(t, readTree(t, dirB), map[string]string{"x": "1"})
	writeTree(t, dirB, map[string]string{"x": "2"})
	if err := hb.Commit(ctx, dirB); err != nil {
		t.Fatal(err)
	}
	if err := ha.Commit(ctx, dirA); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale commit after the successor's: %v, want ErrLeaseLost", err)
	}
	// An old generation cannot even open.
	if _, err := cp.Open(ctx, "f", la); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("open with an old generation: %v", err)
	}
	check := t.TempDir()
	l.Release(ctx, lb)
	lc, err := l.Acquire(ctx, "f", "replica-c", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := cp.Open(ctx, "f", lc)
	if err != nil {
		t.Fatal(err)
	}
	if err := hc.Restore(ctx, check); err != nil {
		t.Fatal(err)
	}
	sameTree(t, readTree(t, check), map[string]string{"x": "2"})
}

// testRedisRestart: Redis loses its generation counters; the next lease is still above the
// committed generation, so the holder can open and commit, and older holders stay fenced.
func testRedisRestart(t *testing.T, o *Objects, rd *clustertest.Redis) {
	ctx := context.Background()
	l, _ := OpenLeases(rd.URL, t.Name()+":")
	defer l.Close()
	cp := NewCheckpoints(o, nil)
	dir := t.TempDir()
	var last Lease
	for i := range 3 {
		lease, err := l.Acquire(ctx, "r", "replica-a", time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		h, err := cp.Open(ctx, "r", lease)
		if err != nil {
			t.Fatal(err)
		}
		writeTree(t, dir, map[string]string{"n": fmt.Sprint(i)})
		if err := h.Commit(ctx, dir); err != nil {
			t.Fatal(err)
		}
		l.Release(ctx, lease)
		last = lease
	}
	rd.Stop()
	if _, err := l.Acquire(ctx, "r", "replica-b", time.Minute, 0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("acquire with Redis down: %v, want ErrUnavailable", err)
	}
	rd.Start()
	head, _, err := cp.ReadHead(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	var lease Lease
	deadline := time.Now().Add(10 * time.Second)
	for {
		lease, err = l.Acquire(ctx, "r", "replica-b", time.Minute, head.Generation)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if lease.Generation <= last.Generation {
		t.Fatalf("generation %d after the restart, not above the committed %d", lease.Generation, last.Generation)
	}
	h, err := cp.Open(ctx, "r", lease)
	if err != nil {
		t.Fatal(err)
	}
	got := t.TempDir()
	if err := h.Restore(ctx, got); err != nil {
		t.Fatal(err)
	}
	sameTree(t, readTree(t, got), map[string]string{"n": "2"})
}

// testStoreUnavailable: a commit while the store hangs fails as retryable; once the store is
// back the same holding commits, and nothing committed before was lost.
func testStoreUnavailable(t *testing.T, o *Objects, rd *clustertest.Redis, s3 *clustertest.S3) {
	ctx := context.Background()
	l, _ := OpenLeases(rd.URL, t.Name()+":")
	defer l.Close()
	cp := NewCheckpoints(o, nil)
	dir := t.TempDir()
	lease, err := l.Acquire(ctx, "u", "replica-a", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := cp.Open(ctx, "u", lease)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"a": "committed"})
	if err := h.Commit(ctx, dir); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"b": "later"})
	s3.Pause()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = h.Commit(short, dir)
	cancel()
	s3.Resume()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("commit with the store stopped: %v, want ErrUnavailable", err)
	}
	if err := h.Commit(ctx, dir); err != nil {
		t.Fatalf("commit after the store came back: %v", err)
	}
	l.Release(ctx, lease)
	lease2, _ := l.Acquire(ctx, "u", "replica-b", time.Minute, 0)
	h2, err := cp.Open(ctx, "u", lease2)
	if err != nil {
		t.Fatal(err)
	}
	got := t.TempDir()
	if err := h2.Restore(ctx, got); err != nil {
		t.Fatal(err)
	}
	sameTree(t, readTree(t, got), map[string]string{"a": "committed", "b": "later"})
}

// TestValidBlob: a blob name read from the store is blobs/ and 64 hex digits, with or without
// -GEN; nothing else (no path, no other prefix) becomes an object key.
func TestValidBlob(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for b, want := range map[string]bool{
		"blobs/" + sum: true, "blobs/" + sum + "-7": true, "blobs/" + sum + "-18446744073709551615": true,
		"": false, sum: false, "blobs/" + sum[:63]: false, "blobs/" + sum + "-": false, "blobs/" + sum + "-x": false,
		"blobs/" + sum + "7": false, "blobs/" + strings.Repeat("zz", 32): false, "blobs/../" + sum: false,
		"ckpt/" + sum: false, "blobs/" + sum + "-1/../../x": false, "blobs/" + sum + "-123456789012345678901": false,
	} {
		if got := validBlob(b); got != want {
			t.Errorf("validBlob(%q) = %v, want %v", b, got, want)
		}
	}
}

// testReadPruned: a lease-free read of a file whose head was read before a commit pruned that
// checkpoint's objects finds the newer checkpoint's file (another replica adopting a session
// while its holder commits), and a file no checkpoint has is still reported missing.
func testReadPruned(t *testing.T, cp *Checkpoints, l *Leases) {
	ctx := context.Background()
	lease, err := l.Acquire(ctx, "pruned", "replica-a", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx, lease)
	hd, err := cp.Open(ctx, "pruned", lease)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"session.json": `{"runs":1}`, "workspace/": ""})
	if err := hd.Commit(ctx, dir); err != nil {
		t.Fatal(err)
	}
	old, _, err := cp.ReadHead(ctx, "pruned")
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"session.json": `{"runs":2}`})
	if err := hd.Commit(ctx, dir); err != nil {
		t.Fatal(err)
	}
	hd.Pruned()
	if _, err := cp.readFileAt(ctx, "pruned", "session.json", 1<<20, old); !errors.Is(err, ErrNoObject) {
		t.Fatalf("the old checkpoint's record after the prune: %v, want it gone (the race this covers)", err)
	}
	if b, err := cp.readFileFrom(ctx, "pruned", "session.json", 1<<20, old); err != nil || string(b) != `{"runs":2}` {
		t.Fatalf("read from a pruned head: %q %v, want the newer record", b, err)
	}
	if _, err := cp.ReadFile(ctx, "pruned", "missing.json", 1<<20); !errors.Is(err, ErrNoObject) {
		t.Fatalf("a file no checkpoint has: %v, want ErrNoObject", err)
	}
}
