package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"golang.org/x/sys/unix"
)

// Machine code mapped from its shared file as it loads.
//
// wazero loads a module's machine code from its compilation cache by reading the cache entry
// into fresh anonymous memory (139 MiB for python.wasm with numpy, pandas and matplotlib) and
// checking its CRC; [shareCode] then compared those bytes with the shared code file and mapped
// the file over them. Each worker thus faulted in, copied and compared the code only to throw
// its copy away: about 190 ms of a 300 ms worker start.
//
// codeCache sits between wazero and its file cache. When wazero reads an entry's machine code
// into the memory it reserved for it, codeCache maps the shared code file of the same bytes
// there instead (MAP_FIXED, read only; wazero then makes it read-and-execute, as it does its
// own copy). wazero checks the code against the CRC the entry stores, as it checks its own
// copy, so the code it runs is exactly the entry's; when a file fails that check (a torn
// write, another build's code under a colliding name), the load is made again with the
// entry's bytes read into memory, and [shareCode] replaces the file later. A file that is
// missing or of another length is not mapped at all. The small reads wazero makes of the rest
// of an entry (one 8-byte read per function) are buffered.

// fileCache is wazero's internal file cache interface (internal/filecache.Cache; Key is an
// alias of a sha256-sized array), which codeCache implements around wazero's own.
type fileCache interface {
	Get(key [sha256.Size]byte) (content io.ReadCloser, ok bool, err error)
	Add(key [sha256.Size]byte, content io.Reader) error
	Delete(key [sha256.Size]byte) error
}

// codeCache is a [fileCache] that maps machine code from shared code files (see above).
type codeCache struct {
	fileCache
	dir string // the shared code files

	loads  sync.Mutex // one load at a time through compile: last is that load's
	mu     sync.Mutex
	mapped map[uintptr]string // start of machine code mapped from a file -> the file's name
	last   codeRegion         // the code mapped by the load under way (see compile)
	hint   string             // the code file to try first (see withHint)
	off    bool               // mapping is off: a mapped file failed wazero's CRC
}

// withHint makes c try the code file name first (a skeleton's, which its server published)
// rather than work it out from the entry. It returns c.
func (c *codeCache) withHint(name string) *codeCache {
	if c != nil {
		c.mu.Lock()
		c.hint = name
		c.mu.Unlock()
	}
	return c
}

// mapCodeFrom puts a codeCache in front of cache's file cache, mapping code from files in dir.
// It returns nil, changing nothing, when cache is not wazero's kind it knows (see
// wazerofields.go) or has no file cache.
func mapCodeFrom(cache wazero.CompilationCache, dir string) *codeCache {
	f := fileCacheOf(cache)
	if !f.IsValid() || f.IsNil() {
		return nil
	}
	inner, ok := f.Interface().(fileCache)
	if !ok {
		return nil
	}
	c := &codeCache{fileCache: inner, dir: dir, mapped: map[uintptr]string{}}
	if !setFileCache(f, c) {
		return nil
	}
	return c
}

// mappedFrom returns the name of the shared code file compiled's machine code was mapped from
// as it loaded, or "" when it was read into memory of its own.
func (c *codeCache) mappedFrom(compiled wazero.CompiledModule) string {
	if c == nil {
		return ""
	}
	r, err := codeRegionOf(compiled)
	if err != nil {
		return ""
	}
	c.mu.Lock()
	name := c.mapped[r.start]
	c.mu.Unlock()
	// The record is of an address: the mapping must still be that file's (a module closed
	// after it loaded, its address reused by one read into memory, would not be).
	if name == "" {
		return ""
	}
	if perms, file, ok, _ := mappingOf(r); !ok || perms != "r-xp" || file != filepath.Join(c.dir, name) {
		return ""
	}
	return name
}

// Get implements [fileCache]: wazero's entry, read through an [entryReader].
func (c *codeCache) Get(key [sha256.Size]byte) (io.ReadCloser, bool, error) {
	content, ok, err := c.fileCache.Get(key)
	if !ok || err != nil {
		return content, ok, err
	}
	f, isFile := content.(*os.File)
	if !isFile {
		return content, ok, err
	}
	r := &entryReader{f: f, cache: c, buf: make([]byte, 0, entryBuffer)}
	r.code, r.codeLen = codeIn(f)
	return r, true, nil
}

// entryBuffer is how much of an entry an [entryReader] reads at once.
const entryBuffer = 64 << 10

// entryMagic starts every entry wazero's optimizing compiler writes.
var entryMagic = []byte("WAZEVO")

// codeIn returns where an entry's machine code starts and how long it is, from its layout as
// wazero writes it: the magic, wazero's version (its length in one byte), the number of
// functions (4 bytes), an 8-byte offset per function, the code's length (8 bytes), the code,
// its CRC (4 bytes), and more. It returns 0, 0 for anything else: the entry is then only read.
func codeIn(f *os.File) (at, n int64) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0
	}
	head := make([]byte, len(entryMagic)+1)
	if _, err := f.ReadAt(head, 0); err != nil || string(head[:len(entryMagic)]) != string(entryMagic) {
		return 0, 0
	}
	count := int64(len(head)) + int64(head[len(entryMagic)])
	var b [8]byte
	if _, err := f.ReadAt(b[:4], count); err != nil {
		return 0, 0
	}
	lenAt := count + 4 + 8*int64(binary.LittleEndian.Uint32(b[:4]))
	if _, err := f.ReadAt(b[:], lenAt); err != nil {
		return 0, 0
	}
	n = int64(binary.LittleEndian.Uint64(b[:]))
	at = lenAt + 8
	if n <= 0 || n > st.Size() || at+n+4 > st.Size() {
		return 0, 0
	}
	return at, n
}

// entryReader reads a cache entry for wazero: buffered, and with its machine code mapped
// from a shared code file when one holds it (see [codeCache.mapCode]).
type entryReader struct {
	f     *os.File
	cache *codeCache
	off   int64 // what the reader has returned so far

	buf    []byte
	bufOff int64 // where buf starts in the entry

	code, codeLen int64 // the machine code's place in the entry (0, 0: unknown)
}

func (r *entryReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	// wazero reads the code whole into the memory it reserved for it.
	if r.code > 0 && r.off == r.code && int64(len(p)) == r.codeLen {
		mapped, err := r.cache.mapCode(r.f, p, r.code)
		if err != nil {
			return 0, err
		}
		if mapped {
			r.off += r.codeLen
			return len(p), nil
		}
	}
	n := 0
	for n < len(p) {
		if r.off < r.bufOff || r.off >= r.bufOff+int64(len(r.buf)) {
			if len(p)-n >= entryBuffer {
				m, err := r.f.ReadAt(p[n:], r.off)
				n += m
				r.off += int64(m)
				if err != nil && n == 0 {
					return 0, err
				}
				return n, nil
			}
			m, err := r.f.ReadAt(r.buf[:cap(r.buf)], r.off)
			r.buf, r.bufOff = r.buf[:m], r.off
			if m == 0 {
				if n > 0 {
					return n, nil
				}
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				return 0, err
			}
		}
		m := copy(p[n:], r.buf[r.off-r.bufOff:])
		n += m
		r.off += int64(m)
	}
	return n, nil
}

func (r *entryReader) Close() error { return r.f.Close() }

// mapCode maps the shared code file holding the machine code at entry[at:at+len(p)] over p,
// the memory wazero reserved for it, and reports whether it did. It fails only when p could
// not be made ordinary memory again after a failed mapping. The file's bytes are not checked
// here: wazero checks them against the entry's CRC next, and [codeCache.compile] loads again
// without mapping when that fails.
func (c *codeCache) mapCode(entry *os.File, p []byte, at int64) (bool, error) {
	c.mu.Lock()
	off, hint := c.off, c.hint
	c.mu.Unlock()
	ps := uintptr(os.Getpagesize())
	r := codeRegion{uintptr(unsafe.Pointer(&p[0])), 0}
	r.end = r.start + (uintptr(len(p))+ps-1)&^(ps-1)
	if off || r.start%ps != 0 {
		return false, nil
	}
	// Huge pages, or anything but the plain read-write mapping wazero makes, stay as they are.
	if plain, err := anonymousMapping(r, "rw-p"); err != nil || !plain {
		return false, nil
	}
	// A code file holds the code's whole pages (see codeName): the code, then zeros. Its name
	// is the hint when that names a file of this length, else it is worked out from the entry.
	pages := int64(r.end - r.start)
	f := c.open(hint, pages)
	if f == nil {
		sum, err := sampleSumAt(zeroPadded{entry, at, int64(len(p))}, 0, pages)
		if err != nil {
			return false, nil
		}
		if f = c.open(codeFileName(int(pages), sum), pages); f == nil {
			return false, nil
		}
	}
	defer f.Close()
	// Executable from the start: on a file system mounted noexec this fails now, and the entry
	// is read, rather than when wazero makes the code executable after it checked it.
	if _, err := unix.MmapPtr(int(f.Fd()), 0, r.ptr(), r.end-r.start, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
		return false, anonymousAgain(r)
	}
	if !zeros(r.bytes()[len(p):]) {
		return false, anonymousAgain(r)
	}
	c.mu.Lock()
	c.mapped[r.start] = filepath.Base(f.Name())
	c.last = r
	c.mu.Unlock()
	return true, nil
}

// open opens the shared code file name if it is a regular file of size bytes; nil otherwise.
func (c *codeCache) open(name string, size int64) *os.File {
	if name == "" || filepath.Base(name) != name {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(c.dir, name), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() || st.Size() != size {
		f.Close()
		return nil
	}
	return f
}

// compile is rt.CompileModule(bin) through c (which may be nil). When the load fails after
// c mapped a code file (the file's bytes are not the entry's: wazero's CRC failed), the
// mapping, which wazero dropped without unmapping, is unmapped, and bin is loaded again with
// mapping turned off for good.
func (c *codeCache) compile(ctx context.Context, rt wazero.Runtime, bin []byte) (wazero.CompiledModule, error) {
	if c == nil {
		return rt.CompileModule(ctx, bin)
	}
	c.loads.Lock()
	defer c.loads.Unlock()
	c.mu.Lock()
	c.last = codeRegion{}
	c.mu.Unlock()
	compiled, err := rt.CompileModule(ctx, bin)
	if err == nil {
		return compiled, nil
	}
	c.mu.Lock()
	last := c.last
	c.last = codeRegion{}
	if last.start == 0 {
		c.mu.Unlock()
		return nil, err
	}
	c.off = true
	delete(c.mapped, last.start)
	c.mu.Unlock()
	if perms, file, ok, _ := mappingOf(last); ok && perms != "" && file != "" && strings.HasPrefix(file, c.dir+"/") {
		unix.MunmapPtr(last.ptr(), last.end-last.start)
	}
	return rt.CompileModule(ctx, bin)
}

// anonymousAgain makes r fresh anonymous read-write memory, as wazero mapped it.
func anonymousAgain(r codeRegion) error {
	if _, err := unix.MmapPtr(-1, 0, r.ptr(), r.end-r.start, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED); err != nil {
		return fmt.Errorf("wasm: put machine code memory back: %w", err)
	}
	return nil
}

// zeroPadded reads the n bytes at offset at of r, then zeros.
type zeroPadded struct {
	r     io.ReaderAt
	at, n int64
}

func (z zeroPadded) ReadAt(b []byte, off int64) (int, error) {
	clear(b)
	if off >= z.n {
		return len(b), nil
	}
	want := b[:min(int64(len(b)), z.n-off)]
	if _, err := z.r.ReadAt(want, z.at+off); err != nil {
		return 0, err
	}
	return len(b), nil
}

// zeros reports whether b holds only zero bytes.
func zeros(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
