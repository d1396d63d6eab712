package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxEntries bounds the entries a checkpoint lists.
const maxEntries = 100_000

// restoreTemp starts the names of files a restore downloads at the top of the directory before
// moving them in place; checkpoints leave them out.
const restoreTemp = ".cluster-restore-"

// maxManifest bounds a checkpoint's head (or manifest, in the earlier layout).
const maxManifest = 16 << 20

// Layout in the store, under its prefix, for session ID:
//
//	sessions/ID/head              the newest committed checkpoint: generation, seq, and its
//	                              manifest (every file's path, mode, size, sha256 and blob)
//	sessions/ID/blobs/SHA256-GEN  file contents, each stored once per session and generation
//	sessions/ID/ckpt/SEQ-GEN      a manifest of an earlier layout, named by its head (read)
//	sessions/ID/blobs/SHA256      contents of an earlier layout (read)
//
// A commit uploads the blobs the store lacks, then replaces head only if head is still the
// version the committer last wrote (If-Match on its ETag): two requests in a row. Taking a
// lease replaces head with the new generation first, so from then on every older holder's
// commit fails: that is the fence. The blobs only the previous checkpoint used are deleted
// after the commit, off the caller's path; a holder's next commit waits for that. A blob's
// name carries the generation that uploaded it, so the deletions of a holder that was fenced
// off while they ran never hit a blob its successor uploaded.

// Head is a session's newest committed checkpoint.
type Head struct {
	Generation uint64      `json:"generation"`
	Seq        uint64      `json:"seq"`                // 0: nothing committed yet
	Manifest   string      `json:"manifest,omitempty"` // the manifest's key, in the earlier layout
	Files      []fileEntry `json:"files,omitempty"`
	Dirs       []string    `json:"dirs,omitempty"`
	Holder     string      `json:"holder"`
	Nonce      string      `json:"nonce"` // every head differs, so ETags never repeat
	Time       time.Time   `json:"time"`
}

type manifest struct {
	Seq        uint64      `json:"seq"`
	Generation uint64      `json:"generation"`
	Files      []fileEntry `json:"files"`
	Dirs       []string    `json:"dirs"`
}

type fileEntry struct {
	Path   string      `json:"path"`
	Size   int64       `json:"size"`
	Mode   fs.FileMode `json:"mode"`
	SHA256 string      `json:"sha256"`
	Blob   string      `json:"blob,omitempty"` // its content's object under the session; blobs/SHA256 if empty
}

// blob is the key of f's content, relative to the session's objects.
func (f fileEntry) blob() string {
	if f.Blob != "" {
		return f.Blob
	}
	return "blobs/" + f.SHA256
}

// validBlob: blobs/ and 64 hex digits, with or without -GEN.
func validBlob(b string) bool {
	name, ok := strings.CutPrefix(b, "blobs/")
	if !ok || len(name) < 64 {
		return false
	}
	if _, err := hex.DecodeString(name[:64]); err != nil {
		return false
	}
	if rest := name[64:]; rest != "" {
		gen, ok := strings.CutPrefix(rest, "-")
		if !ok || gen == "" || strings.Trim(gen, "0123456789") != "" || len(gen) > 20 {
			return false
		}
	}
	return true
}

// Checkpoints keeps sessions' committed directories in an object store. Safe for concurrent use.
type Checkpoints struct {
	objects *Objects
	skip    func(rel string) bool
}

// NewCheckpoints keeps checkpoints in objects. skip, if not nil, leaves out the files and
// directories (slash-separated paths relative to the session's directory) it returns true for,
// both when committing and when restoring (a restore keeps them as they are).
func NewCheckpoints(objects *Objects, skip func(rel string) bool) *Checkpoints {
	if skip == nil {
		skip = func(string) bool { return false }
	}
	return &Checkpoints{objects: objects, skip: skip}
}

func headKey(id string) string { return "sessions/" + id + "/head" }

// ReadHead reads session id's head; a session never committed has the zero Head and etag "".
func (c *Checkpoints) ReadHead(ctx context.Context, id string) (Head, string, error) {
	b, etag, err := c.objects.Get(ctx, headKey(id), maxManifest)
	if errors.Is(err, ErrNoObject) {
		return Head{}, "", nil
	}
	if err != nil {
		return Head{}, "", err
	}
	var h Head
	if err := json.Unmarshal(b, &h); err != nil {
		return Head{}, "", fmt.Errorf("cluster: head of %s: %w", id, err)
	}
	if err := validEntries(h.Files, h.Dirs); err != nil {
		return Head{}, "", fmt.Errorf("cluster: head of %s: %w", id, err)
	}
	return h, etag, nil
}

// Holding is a lease holder's fenced handle on a session's checkpoints. Not safe for
// concurrent use.
type Holding struct {
	c      *Checkpoints
	id     string
	lease  Lease
	head   Head
	etag   string
	stored map[string]fileEntry // path -> entry, as of head
	hashes map[string]hashed    // path -> the local file's hash, while size and time match
	// pruning: the deletions after the last commit, which the next commit and restore wait for.
	pruning sync.WaitGroup
}

type hashed struct {
	size  int64
	mtime time.Time
	at    time.Time // when it was hashed
	sum   string
}

// Open fences session id's checkpoints for lease: after it returns, no holder of an older
// generation can commit. It fails with ErrLeaseLost if a newer generation has already
// written the head.
func (c *Checkpoints) Open(ctx context.Context, id string, lease Lease) (*Holding, error) {
	for attempt := 0; ; attempt++ {
		h, etag, err := c.ReadHead(ctx, id)
		if err != nil {
			return nil, err
		}
		if h.Generation >= lease.Generation {
			return nil, fmt.Errorf("%w: session %s is at generation %d, the lease's is %d", ErrLeaseLost, id, h.Generation, lease.Generation)
		}
		next := h
		next.Generation, next.Holder, next.Nonce, next.Time = lease.Generation, lease.Holder, nonce(), time.Now().UTC()
		newTag, err := c.putHead(ctx, id, next, etag)
		if errors.Is(err, ErrPrecondition) && attempt < 3 {
			continue // an older holder committed in between: read its head again
		}
		if err != nil {
			return nil, err
		}
		hd := &Holding{c: c, id: id, lease: lease, head: next, etag: newTag, stored: map[string]fileEntry{}, hashes: map[string]hashed{}}
		if next.Seq > 0 {
			m, err := c.manifestOf(ctx, id, next)
			if err != nil {
				return nil, err
			}
			for _, f := range m.Files {
				hd.stored[f.Path] = f
			}
		}
		return hd, nil
	}
}

func (c *Checkpoints) putHead(ctx context.Context, id string, h Head, etag string) (string, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cond := Condition{IfMatch: etag}
	if etag == "" {
		cond = Condition{IfAbsent: true}
	}
	return c.objects.PutBytes(ctx, headKey(id), b, cond)
}

func (c *Checkpoints) readManifest(ctx context.Context, id, key string) (manifest, error) {
	var m manifest
	b, _, err := c.objects.Get(ctx, "sessions/"+id+"/"+key, maxManifest)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("cluster: manifest %s of %s: %w", key, id, err)
	}
	if err := validEntries(m.Files, m.Dirs); err != nil {
		return m, fmt.Errorf("cluster: manifest %s of %s: %w", key, id, err)
	}
	return m, nil
}

// manifestOf is head h's list of files and directories (read from its manifest in the
// earlier layout).
func (c *Checkpoints) manifestOf(ctx context.Context, id string, h Head) (manifest, error) {
	if h.Manifest != "" {
		return c.readManifest(ctx, id, h.Manifest)
	}
	return manifest{Seq: h.Seq, Generation: h.Generation, Files: h.Files, Dirs: h.Dirs}, nil
}

// validEntries checks the paths and blobs a checkpoint names (written by replicas, read back).
func validEntries(files []fileEntry, dirs []string) error {
	for _, f := range files {
		if !validRel(f.Path) || len(f.SHA256) != 64 || f.Blob != "" && !validBlob(f.Blob) {
			return fmt.Errorf("names %q", f.Path)
		}
	}
	for _, d := range dirs {
		if !validRel(d) {
			return fmt.Errorf("names %q", d)
		}
	}
	return nil
}

func validRel(p string) bool { return p != "" && filepath.IsLocal(p) && path.Clean(p) == p }

// Head is the checkpoint the holding last committed or opened at.
func (hd *Holding) Head() Head { return hd.head }

// Lease is the lease the holding was opened with.
func (hd *Holding) Lease() Lease { return hd.lease }

// Restore makes dir hold the committed checkpoint: files that differ are downloaded, files and
// directories it does not have are removed (skipped ones are left alone). A session never
// committed restores to an empty directory.
func (hd *Holding) Restore(ctx context.Context, dir string) error {
	hd.pruning.Wait()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// Everything below dir goes through root: a symbolic link a guest left in its workspace
	// leads nowhere outside it.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var m manifest
	if hd.head.Seq > 0 {
		if m, err = hd.c.manifestOf(ctx, hd.id, hd.head); err != nil {
			return err
		}
	}
	// What the checkpoint has at each path: a directory (true) or a file (false).
	want := map[string]bool{}
	for _, d := range m.Dirs {
		want[d] = true
	}
	for _, f := range m.Files {
		want[f.Path] = false
	}
	// Remove what the checkpoint lacks, or has as another kind, deepest first.
	local, err := hd.scan(dir)
	if err != nil {
		return err
	}
	for i := len(local) - 1; i >= 0; i-- {
		isDir, ok := want[local[i].Path]
		if !ok || isDir && !local[i].Mode.IsDir() || !isDir && !local[i].Mode.IsRegular() {
			if err := root.RemoveAll(filepath.FromSlash(local[i].Path)); err != nil {
				return err
			}
		}
	}
	for _, d := range m.Dirs {
		if err := root.MkdirAll(filepath.FromSlash(d), 0o700); err != nil {
			return err
		}
	}
	have := map[string]fileEntry{}
	for _, e := range local {
		have[e.Path] = e
	}
	for _, f := range m.Files {
		if l, ok := have[f.Path]; ok && l.Mode.IsRegular() && l.Size == f.Size {
			if sum, err := hd.hash(root, f.Path); err == nil && sum == f.SHA256 {
				continue
			}
		}
		if err := hd.download(ctx, root, f); err != nil {
			return err
		}
	}
	clear(hd.stored)
	for _, f := range m.Files {
		hd.stored[f.Path] = f
	}
	return nil
}

// download writes f's content in place of root/f.Path: into a temporary file at the top of
// root, then renamed over it.
func (hd *Holding) download(ctx context.Context, root *os.Root, f fileEntry) error {
	tmp := restoreTemp + nonce()
	w, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.Mode.Perm()|0o600)
	if err != nil {
		return err
	}
	n, err := hd.c.objects.GetTo(ctx, "sessions/"+hd.id+"/"+f.blob(), w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != f.Size {
		err = fmt.Errorf("cluster: blob of %s is %d bytes, the manifest says %d", f.Path, n, f.Size)
	}
	if err == nil {
		err = root.Rename(tmp, filepath.FromSlash(f.Path))
	}
	if err != nil {
		root.Remove(tmp)
	}
	return err
}

// Commit writes dir as the session's next checkpoint, uploading only contents the store does
// not have. ErrLeaseLost means a newer holder fenced this one off: nothing was committed, and
// the holding must not be used again.
func (hd *Holding) Commit(ctx context.Context, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	local, err := hd.scan(dir)
	if err != nil {
		return err
	}
	hd.pruning.Wait() // the previous commit's deletions: none may hit a blob this one reuses
	m := manifest{Seq: hd.head.Seq + 1, Generation: hd.lease.Generation, Files: []fileEntry{}, Dirs: []string{}}
	inStore := map[string]string{} // sha256 -> blob
	for _, f := range hd.stored {
		inStore[f.SHA256] = f.blob()
	}
	var upload []fileEntry
	for _, e := range local {
		if e.Mode.IsDir() {
			m.Dirs = append(m.Dirs, e.Path)
			continue
		}
		if !e.Mode.IsRegular() {
			continue
		}
		sum, err := hd.hash(root, e.Path)
		if err != nil {
			return err
		}
		e.SHA256 = sum
		if blob, ok := inStore[sum]; ok {
			e.Blob = blob
		} else {
			e.Blob = fmt.Sprintf("blobs/%s-%d", sum, hd.lease.Generation)
			inStore[sum] = e.Blob
			upload = append(upload, e)
		}
		m.Files = append(m.Files, e)
	}
	if err := hd.uploadAll(ctx, root, upload); err != nil {
		return err
	}
	next := hd.head
	next.Seq, next.Manifest, next.Files, next.Dirs, next.Nonce, next.Time = m.Seq, "", m.Files, m.Dirs, nonce(), time.Now().UTC()
	etag, err := hd.c.putHead(ctx, hd.id, next, hd.etag)
	if err != nil {
		if errors.Is(err, ErrPrecondition) {
			return fmt.Errorf("%w: session %s was taken over after generation %d", ErrLeaseLost, hd.id, hd.lease.Generation)
		}
		return err
	}
	old, oldKey := hd.stored, hd.head.Manifest
	hd.head, hd.etag = next, etag
	hd.stored = map[string]fileEntry{}
	for _, f := range m.Files {
		hd.stored[f.Path] = f
	}
	used := map[string]bool{}
	for _, f := range hd.stored {
		used[f.blob()] = true
	}
	hd.pruning.Add(1)
	go func() {
		defer hd.pruning.Done()
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pruneTimeout)
		defer cancel()
		hd.prune(pctx, old, used, oldKey)
	}()
	return nil
}

// Pruned waits for the deletions after the last commit.
func (hd *Holding) Pruned() { hd.pruning.Wait() }

// pruneTimeout bounds the deletions after a commit.
const pruneTimeout = time.Minute

// prune deletes the previous checkpoint's manifest and the blobs only it used (not in used).
// Failures leave garbage that the session's deletion removes, never a hole in the committed
// checkpoint.
func (hd *Holding) prune(ctx context.Context, old map[string]fileEntry, used map[string]bool, oldKey string) {
	var keys []string
	for _, f := range old {
		if b := f.blob(); !used[b] {
			used[b] = true // once
			keys = append(keys, b)
		}
	}
	if oldKey != "" {
		keys = append(keys, oldKey)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = hd.c.objects.Delete(ctx, "sessions/"+hd.id+"/"+k)
		}()
	}
	wg.Wait()
}

// uploadAll uploads files' contents, four at a time.
func (hd *Holding) uploadAll(ctx context.Context, root *os.Root, files []fileEntry) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, 4)
	)
	for _, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := hd.upload(ctx, root, f)
			mu.Lock()
			if err != nil && first == nil {
				first = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return first
}

func (hd *Holding) upload(ctx context.Context, root *os.Root, e fileEntry) error {
	f, _, err := openRegular(root, e.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	// The content must be what was hashed: a file changed since is an error, not a wrong blob.
	h := sha256.New()
	if _, err := hd.c.objects.Put(ctx, "sessions/"+hd.id+"/"+e.blob(), io.TeeReader(io.LimitReader(f, e.Size), h), e.Size, Condition{}); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != e.SHA256 {
		_ = hd.c.objects.Delete(ctx, "sessions/"+hd.id+"/"+e.blob())
		return fmt.Errorf("cluster: %s changed while it was committed", e.Path)
	}
	return nil
}

// scan lists what dir holds (not dir itself), parents before children, sorted, at most
// maxEntries (a workspace holds at most WORKSPACE_MAX_FILES).
func (hd *Holding) scan(dir string) ([]fileEntry, error) {
	var out []fileEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if hd.c.skip(rel) || strings.HasPrefix(rel, restoreTemp) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if len(out) >= maxEntries {
			return fmt.Errorf("cluster: %s holds more than %d entries", dir, maxEntries)
		}
		// Symbolic links, FIFOs and the like are listed (a restore removes them) but never
		// committed.
		out = append(out, fileEntry{Path: rel, Mode: info.Mode(), Size: info.Size()})
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// hash is the sha256 of root/rel, remembered while the file's size and time stay the same. A
// hash is trusted only for a file whose time was a second older than the hashing: a change
// within the clock's granularity after the hash could otherwise keep the time.
func (hd *Holding) hash(root *os.Root, rel string) (string, error) {
	f, info, err := openRegular(root, rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if c, ok := hd.hashes[rel]; ok && c.size == info.Size() && c.mtime.Equal(info.ModTime()) && c.mtime.Before(c.at.Add(-time.Second)) {
		return c.sum, nil
	}
	at := time.Now()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	hd.hashes[rel] = hashed{size: info.Size(), mtime: info.ModTime(), at: at, sum: sum}
	return sum, nil
}

// openRegular opens root/rel for reading if it is a regular file, checked on the descriptor
// it opened: without following a symbolic link and without blocking on a FIFO a guest may
// have put there since the directory was listed.
func openRegular(root *os.Root, rel string) (*os.File, os.FileInfo, error) {
	f, err := root.OpenFile(filepath.FromSlash(rel), os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("cluster: %s is not a regular file", rel)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// ReadFile reads one file (slash-separated, relative to the session's directory) of session
// id's newest committed checkpoint, without a lease, up to max bytes.
func (c *Checkpoints) ReadFile(ctx context.Context, id, rel string, max int64) ([]byte, error) {
	h, _, err := c.ReadHead(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.readFileFrom(ctx, id, rel, max, h)
}

// readFileFrom reads rel of the checkpoint head h names, or of a newer one: without a lease,
// a commit after h was read may have pruned h's manifest and blobs (the holder deletes what
// only the previous checkpoint used). A read that finds an object gone reads the head again
// and, if it moved, the newer checkpoint (a few times: a session that commits without pause
// could outrun any number).
func (c *Checkpoints) readFileFrom(ctx context.Context, id, rel string, max int64, h Head) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		b, err := c.readFileAt(ctx, id, rel, max, h)
		if err == nil || !errors.Is(err, ErrNoObject) || attempt == 5 {
			return b, err
		}
		now, _, herr := c.ReadHead(ctx, id)
		if herr != nil || now.Seq == h.Seq && now.Generation == h.Generation {
			return b, err // the checkpoint read is the newest: rel is not in it
		}
		h = now
	}
}

func (c *Checkpoints) readFileAt(ctx context.Context, id, rel string, max int64, h Head) ([]byte, error) {
	if h.Seq == 0 {
		return nil, fmt.Errorf("%w: %s", ErrGone, id)
	}
	m, err := c.manifestOf(ctx, id, h)
	if err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		if f.Path == rel {
			b, _, err := c.objects.Get(ctx, "sessions/"+id+"/"+f.blob(), max)
			return b, err
		}
	}
	return nil, fmt.Errorf("%w: %s of session %s", ErrNoObject, rel, id)
}

// Sessions returns the ids of the sessions the store has objects of, at most max.
func (c *Checkpoints) Sessions(ctx context.Context, max int) ([]string, error) {
	return c.objects.ListDirs(ctx, "sessions/", max)
}

// Delete removes everything the store keeps of session id.
func (c *Checkpoints) Delete(ctx context.Context, id string) error {
	return c.objects.DeletePrefix(ctx, "sessions/"+id+"/")
}

func nonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
