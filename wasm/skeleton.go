package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"wasmbox/wasm/cpython"
)

// Loading python.wasm from the compilation cache without validating it again.
//
// wazero validates every function of a module before it looks in its compilation cache, also
// when the machine code then comes from the cache: for python.wasm with numpy, pandas and
// matplotlib that is about half a second of every worker's start, and wazero has no option to
// skip it. The cache holds the trust anyway: the machine code a hit loads is not checked
// against the module (validation checks the wasm, not the code), so validating on a hit
// guards nothing the cache does not already decide.
//
// The skeleton of a module is the module with every function's body replaced by `unreachable`:
// the same types, imports, exports, tables, memory, globals, data and tags, bodies that
// validate in no time, and the real module's hash in a custom section. wazero keys its cache by
// a hash of the module's bytes, so the skeleton has an entry of its own; the server
// ([Precompile]), after compiling or loading the real module (validated in full), links the
// real module's entry under the skeleton's key as well. Every compilation of the skeleton the
// server makes is in a scratch cache (checkEntry): the skeleton's own stub code, which wazero
// compiles and stores on a miss, never enters the real one.
// A worker then compiles the skeleton, which wazero answers from the cache with the real
// module's machine code, and checks that the code it got is the real module's (the name of the
// shared code file, [codeName]) before it uses it; anything else (a missing entry, a stub
// compiled in its place, another build's code) and it compiles the real module as before.

// stubBody is a function body of no locals whose code is `unreachable`: valid for every
// function type.
var stubBody = []byte{3, 0x00, 0x00, 0x0b}

// moduleSection names the custom section a skeleton carries the module's identity in: two
// builds of python.wasm whose bodies differ but nothing else (a fix to one C function) would
// otherwise have the same skeleton, the same cache key, and load each other's code.
const moduleSection = "wasmbox.module"

// skeleton returns bin with every function body replaced by stubBody, and module (the hash of
// bin) in a custom section; bin must be a valid module (it is: the build's own python.wasm).
func skeleton(bin []byte, module string) ([]byte, error) {
	if len(bin) < 8 || !bytes.Equal(bin[:4], []byte("\x00asm")) {
		return nil, errors.New("wasm: skeleton: not a wasm module")
	}
	if module == "" {
		return nil, errors.New("wasm: skeleton: no module hash")
	}
	out := bytes.NewBuffer(make([]byte, 0, len(bin)/2))
	out.Write(bin[:8])
	rest := bin[8:]
	found := false
	for len(rest) > 0 {
		id := rest[0]
		size, n := binary.Uvarint(rest[1:])
		if n <= 0 || size > uint64(len(rest)-1-n) {
			return nil, errors.New("wasm: skeleton: a section overruns the module")
		}
		content := rest[1+n : 1+n+int(size)]
		if id != 10 {
			out.Write(rest[:1+n+int(size)])
		} else {
			found = true
			count, m := binary.Uvarint(content)
			if m <= 0 || count > uint64(len(content)) {
				return nil, errors.New("wasm: skeleton: bad code section")
			}
			// Every body is checked to lie inside the section, so a truncated module is refused
			// rather than given a skeleton of another shape.
			body := content[m:]
			for range count {
				l, k := binary.Uvarint(body)
				if k <= 0 || l > uint64(len(body)-k) {
					return nil, errors.New("wasm: skeleton: a function body overruns the code section")
				}
				body = body[k+int(l):]
			}
			if len(body) != 0 {
				return nil, errors.New("wasm: skeleton: bytes after the last function body")
			}
			sec := binary.AppendUvarint(nil, count)
			for range count {
				sec = append(sec, stubBody...)
			}
			out.WriteByte(10)
			out.Write(binary.AppendUvarint(nil, uint64(len(sec))))
			out.Write(sec)
		}
		rest = rest[1+n+int(size):]
	}
	if !found {
		return nil, errors.New("wasm: skeleton: no code section")
	}
	name := binary.AppendUvarint(nil, uint64(len(moduleSection)))
	name = append(append(name, moduleSection...), module...)
	out.WriteByte(0)
	out.Write(binary.AppendUvarint(nil, uint64(len(name))))
	out.Write(name)
	return out.Bytes(), nil
}

// skeletons are the skeletons of the build's python.wasm made in this process, by module hash
// (a worker is told its server's; one per process but in tests).
var skeletons sync.Map

// skeletonOf is the skeleton of the build's python.wasm carrying module, the module's hash.
func skeletonOf(module string) ([]byte, error) {
	if b, ok := skeletons.Load(module); ok {
		return b.([]byte), nil
	}
	b, err := skeleton(cpython.Wasm, module)
	if err == nil {
		skeletons.Store(module, b)
	}
	return b, err
}

// moduleHash is the SHA-256 of the build's python.wasm, computed once per process (by the
// server: a worker is told it, and is given a skeleton only by a server of its own binary).
var moduleHash = sync.OnceValue(func() string {
	sum := sha256.Sum256(cpython.Wasm)
	return hex.EncodeToString(sum[:])
})

// Skeleton names the cache entry a host may load python.wasm's machine code through without
// validating it ([WithSkeleton]), and the code it must find there.
type Skeleton struct {
	// Entry is the entry's path relative to the cache directory.
	Entry string `json:"entry"`
	// Code is the name of the shared code file of the real module's machine code ([codeName]).
	Code string `json:"code"`
	// Sum identifies the skeleton (its length and checksum): a process whose python.wasm has
	// another shape than the server's does not use the entry. One whose python.wasm differs only
	// inside functions makes the same skeleton from Module, the server's hash: the supervisor
	// gives a skeleton only to workers of its own binary, whose python.wasm is its own.
	Sum string `json:"sum"`
	// Module is the SHA-256 of python.wasm, which the skeleton carries.
	Module string `json:"module"`
	// Interruptible is the machine code's kind ([WithInterruptible]): part of its cache key.
	Interruptible bool `json:"interruptible"`
}

// skeletonSum is [Skeleton.Sum] of skel.
func skeletonSum(skel []byte) string {
	return fmt.Sprintf("%d-%08x", len(skel), crc32.Checksum(skel, castagnoli))
}

// skeletonKeyFile remembers, beside the shared code, the cache entry wazero reads for a
// skeleton: learning it costs a compilation of the skeleton. wazero's key also holds the CPU's
// features, which the name cannot: a key file from another machine (a cache directory moved or
// shared) is found wrong by checkEntry and learnt again.
func skeletonKeyFile(dir string, skel []byte, interruptible bool) string {
	mode := "0"
	if interruptible {
		mode = "1"
	}
	return skeletonKeyPrefix(dir, skel) + mode + "-" + cacheSubdir()
}

// skeletonKeyPrefix starts the names of skel's key files, of either kind of code.
func skeletonKeyPrefix(dir string, skel []byte) string {
	sum := sha256.Sum256(skel)
	return filepath.Join(dir, codeDir, "skeleton-"+hex.EncodeToString(sum[:12])+"-")
}

// rememberedEntry is the entry the key file names, or "".
func rememberedEntry(keyFile string) string {
	b, err := os.ReadFile(keyFile)
	if e := strings.TrimSpace(string(b)); err == nil && validEntry(e) && filepath.Dir(e) == cacheSubdir() {
		return e
	}
	return ""
}

// checkEntry compiles skel with a scratch cache beside dir's that holds only entry (linked from
// dir; "" : nothing), so that whatever wazero does (a miss compiles the skeleton's own stub
// code and stores it) stays out of dir's cache. It returns the name of the code loaded and,
// when wazero did not read entry, the entry it wrote instead: the skeleton's key on this
// machine. Where dir's file system has no hard links it returns errNoLinks.
func checkEntry(ctx context.Context, dir, entry string, skel []byte, interruptible bool) (name, learnt string, err error) {
	tmp, err := os.MkdirTemp(dir, "skeleton-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	sub := filepath.Join(tmp, cacheSubdir())
	if err := os.Mkdir(sub, 0o700); err != nil {
		return "", "", err
	}
	if entry != "" {
		if err := os.Link(filepath.Join(dir, entry), filepath.Join(tmp, entry)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("%w: %v", errNoLinks, err)
		}
	}
	name, err = compileCached(ctx, tmp, skel, interruptible)
	if err != nil {
		return "", "", err
	}
	des, err := os.ReadDir(sub)
	if err != nil {
		return "", "", err
	}
	for _, de := range des {
		if e := cacheSubdir() + "/" + de.Name(); e != entry && validEntry(e) {
			learnt = e
		}
	}
	return name, learnt, nil
}

// errNoLinks: the cache directory's file system has no hard links (workers then validate
// python.wasm as they load it).
var errNoLinks = errors.New("cannot hard-link the cache entry")

// linkSeq makes the names of temporary links unique within the process.
var linkSeq atomic.Int64

// sweepScratch removes what a process that died while setting up a skeleton left in dir, the
// cache directory: scratch caches and temporary links older than an hour (a live process
// removes its own within seconds), temporary key files, and the key files of other builds'
// skeletons for the same wazero (keep is the start of this build's, whatever the kind of code;
// another wazero's are its own processes' to sweep).
func sweepScratch(dir, keep string, now time.Time) {
	for _, pattern := range []string{filepath.Join(dir, "skeleton-*"), filepath.Join(dir, cacheSubdir(), "*.link.tmp"),
		filepath.Join(dir, codeDir, "skeleton-*-"+cacheSubdir()), filepath.Join(dir, codeDir, ".skeleton-*.tmp")} {
		old, _ := filepath.Glob(pattern)
		for _, p := range old {
			if fi, err := os.Lstat(p); err == nil && !strings.HasPrefix(p, keep) && now.Sub(fi.ModTime()) > time.Hour {
				os.RemoveAll(p)
			}
		}
	}
}

// cacheSubdir is the directory, inside a compilation cache's, where this process's wazero keeps
// its entries: named by wazero's version as the process's build information gives it ("dev" in
// test binaries, which carry none), the architecture and the system. wazero names it so in
// cache.go of the release go.mod pins (checkEntry finds no entry, and Precompile no skeleton,
// when that changes: TestPrecompile_sameKeyAsWorkers).
func cacheSubdir() string {
	v := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if strings.Contains(d.Path, "github.com/tetratelabs/wazero") {
				v = d.Version
			}
		}
		if v == "" || v == "(devel)" {
			v = info.Main.Version
		}
	}
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	return "wazero-" + v + "-" + goruntime.GOARCH + "-" + goruntime.GOOS
}

// validEntry reports whether e is a cache entry's path as wazero names them: one directory, one
// hex file name, nothing that leaves the cache.
func validEntry(e string) bool {
	d, f, ok := strings.Cut(e, "/")
	if !ok || d == "" || d == "." || d == ".." || strings.Contains(f, "/") || len(f) != 64 {
		return false
	}
	_, err := hex.DecodeString(f)
	return err == nil
}

// storeSkeleton puts the cache entry of compiled, python.wasm as compiled or loaded by the
// caller, under the skeleton's key, and checks that a host compiling the skeleton gets that
// code. It returns the skeleton's description for [WithSkeleton]. The skeleton's own machine
// code never enters dir's cache: every compilation of the skeleton here is in a scratch cache.
func storeSkeleton(ctx context.Context, dir string, compiled wazero.CompiledModule, interruptible bool) (Skeleton, error) {
	r, err := codeOf(compiled)
	if err != nil {
		return Skeleton{}, err
	}
	code := r.bytes()
	module := moduleHash()
	skel, err := skeletonOf(module)
	if err != nil {
		return Skeleton{}, err
	}
	s := Skeleton{Code: codeName(code), Sum: skeletonSum(skel), Module: module, Interruptible: interruptible}
	keyFile := skeletonKeyFile(dir, skel, interruptible)
	entry := rememberedEntry(keyFile)
	for attempt := 0; attempt < 3; attempt++ {
		name, learnt, err := checkEntry(ctx, dir, entry, skel, interruptible)
		if err != nil && (entry == "" || errors.Is(err, errNoLinks)) {
			return Skeleton{}, fmt.Errorf("wasm: the skeleton's cache entry: %w", err)
		}
		// An entry wazero cannot read (a torn file) fails the compilation: it is replaced below.
		if err == nil && learnt == "" && name == s.Code {
			s.Entry = entry
			return s, nil
		}
		if learnt != "" {
			// No entry yet, or the key file is another machine's: this is the key here.
			entry = learnt
			if err := writeFileAtomic(keyFile, []byte(entry+"\n")); err != nil {
				return Skeleton{}, err
			}
		}
		// The entry is missing, unreadable or holds other code (a stub a worker's race left):
		// put the real module's entry there.
		if err := copyEntry(dir, entry, code); err != nil {
			return Skeleton{}, err
		}
	}
	return Skeleton{}, fmt.Errorf("wasm: the skeleton's cache entry %s does not load python.wasm's code", entry)
}

// compileCached compiles bin in a runtime of its own with the compilation cache in dir (where
// wazero looks for, or stores, its machine code) and returns the name of that code.
func compileCached(ctx context.Context, dir string, bin []byte, interruptible bool) (string, error) {
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return "", err
	}
	defer cache.Close(ctx)
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(interruptible).WithCompilationCache(cache))
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return "", err
	}
	return loadedCodeName(compiled)
}

// loadedCodeName is the [codeName] of compiled's machine code.
func loadedCodeName(compiled wazero.CompiledModule) (string, error) {
	r, err := codeOf(compiled)
	if err != nil {
		return "", err
	}
	return codeName(r.bytes()), nil
}

// copyEntry finds, among dir's cache entries beside entry, the one whose machine code is code
// and copies it to entry (through a temporary file and a rename: a reader never sees half).
func copyEntry(dir, entry string, code []byte) error {
	sub := filepath.Join(dir, filepath.Dir(entry))
	des, err := os.ReadDir(sub)
	if err != nil {
		return err
	}
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() || len(name) != 64 || name == filepath.Base(entry) {
			continue
		}
		src := filepath.Join(sub, name)
		ok, err := entryHolds(src, code)
		if err != nil || !ok {
			continue
		}
		// A hard link: no space taken, and the real entry's content whatever wazero later does
		// to either name (it replaces entries by rename, never in place).
		dst := filepath.Join(dir, entry)
		if a, err := os.Stat(src); err == nil {
			if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
				return nil
			}
		}
		tmp := fmt.Sprintf("%s.%d-%d.link.tmp", dst, os.Getpid(), linkSeq.Add(1))
		if err := os.Link(src, tmp); err != nil {
			return fmt.Errorf("%w: %v", errNoLinks, err)
		}
		err = os.Rename(tmp, dst)
		// A rename between two links of one file does nothing, leaving tmp.
		os.Remove(tmp)
		return err
	}
	return errors.New("wasm: no cache entry holds python.wasm's machine code")
}

// entryHolds reports whether the cache entry at path holds code, the loaded machine code
// (whole pages; the entry holds its exact length). The format is wazero's (engine_cache.go of
// the release go.mod pins; TestPrecompile_sameKeyAsWorkers fails when it changes): magic, version, the function
// count, an offset per function, the code's length, the code.
func entryHolds(path string, code []byte) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, 7)
	if _, err := io.ReadFull(f, head); err != nil || string(head[:6]) != "WAZEVO" {
		return false, err
	}
	if _, err := f.Seek(int64(head[6]), io.SeekCurrent); err != nil {
		return false, err
	}
	var count uint32
	if err := binary.Read(f, binary.LittleEndian, &count); err != nil {
		return false, err
	}
	if _, err := f.Seek(int64(count)*8, io.SeekCurrent); err != nil {
		return false, err
	}
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil {
		return false, err
	}
	if n == 0 || n > uint64(len(code)) || uint64(len(code))-n >= uint64(os.Getpagesize()) {
		return false, nil
	}
	buf := make([]byte, 1<<20)
	for off := uint64(0); off < n; {
		k := min(uint64(len(buf)), n-off)
		if _, err := io.ReadFull(f, buf[:k]); err != nil {
			return false, err
		}
		if !bytes.Equal(buf[:k], code[off:off+k]) {
			return false, nil
		}
		off += k
	}
	return true, nil
}

// writeFileAtomic writes b to path through a temporary file beside it, read-only.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o400)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// compileModule compiles o.wasm in rt: through its skeleton when o asks for it and the cache
// holds the skeleton's entry, then only if the machine code loaded is the real module's. It
// returns why the skeleton was not used, when it was asked for.
func compileModule(ctx context.Context, rt wazero.Runtime, o *options, code *codeCache) (compiled wazero.CompiledModule, skelErr, err error) {
	if o.skeleton == nil {
		compiled, err = code.compile(ctx, rt, o.wasm)
		return compiled, nil, err
	}
	if compiled, skelErr = compileSkeleton(ctx, rt, o, code.withHint(o.skeleton.Code)); skelErr == nil {
		return compiled, nil, nil
	}
	compiled, err = code.compile(ctx, rt, o.wasm)
	return compiled, skelErr, err
}

// compileSkeleton loads python.wasm's machine code through the skeleton's entry o.skeleton.
func compileSkeleton(ctx context.Context, rt wazero.Runtime, o *options, code *codeCache) (wazero.CompiledModule, error) {
	s := o.skeleton
	if o.cacheDir == "" || !validEntry(s.Entry) {
		return nil, errors.New("no cache entry")
	}
	if len(o.wasm) == 0 || len(o.wasm) != len(cpython.Wasm) || &o.wasm[0] != &cpython.Wasm[0] {
		return nil, errors.New("not the build's python.wasm")
	}
	if s.Interruptible != o.interruptible {
		return nil, fmt.Errorf("the skeleton's machine code is interruptible=%v, this host's %v", s.Interruptible, o.interruptible)
	}
	skel, err := skeletonOf(s.Module)
	if err != nil {
		return nil, err
	}
	if d := filepath.Dir(s.Entry); d != cacheSubdir() {
		// Its entry, for another wazero, would not be where this process looks: a check of
		// it could not keep wazero from compiling the skeleton itself.
		return nil, fmt.Errorf("the skeleton's entry is in %s, this process's wazero reads %s", d, cacheSubdir())
	}
	if sum := skeletonSum(skel); sum != s.Sum {
		return nil, fmt.Errorf("the skeleton is %s, the server's %s: another python.wasm", sum, s.Sum)
	}
	// Without its entry, wazero would compile the skeleton itself: check first.
	if fi, err := os.Lstat(filepath.Join(o.cacheDir, s.Entry)); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the skeleton's cache entry: %v", err)
	}
	c, err := code.compile(ctx, rt, skel)
	if err != nil {
		return nil, err
	}
	r, err := codeRegionOf(c)
	if err != nil {
		c.Close(ctx)
		return nil, err
	}
	loaded := r.bytes()
	if name := codeName(loaded); name != s.Code {
		// A stub compiled in the entry's place (it vanished after the check) must not stay
		// there: a later process would load it only to compile python.wasm again. Only that
		// is removed, never an entry that holds other code (the server may have put the real
		// one back meanwhile).
		path := filepath.Join(o.cacheDir, s.Entry)
		if holds, _ := entryHolds(path, loaded); holds {
			os.Remove(path)
		}
		c.Close(ctx)
		return nil, fmt.Errorf("the skeleton's entry loads %q, not %q", name, s.Code)
	}
	return c, nil
}

// precompiledSkeleton is [Precompile] of a build whose python.wasm an earlier Precompile
// compiled and stored under its skeleton's key: it loads the code through the skeleton (in a
// scratch cache, see checkEntry), as workers do, and succeeds only when that code is what the
// earlier Precompile published (its shared code file is there). Anything else, and Precompile
// compiles or loads python.wasm itself, validating it, and stores the entry again.
func precompiledSkeleton(ctx context.Context, dir string, interruptible bool) (Precompiled, bool) {
	start := time.Now()
	module := moduleHash()
	skel, err := skeletonOf(module)
	if err != nil {
		return Precompiled{}, false
	}
	keyFile := skeletonKeyFile(dir, skel, interruptible)
	sweepScratch(dir, skeletonKeyPrefix(dir, skel), start)
	entry := rememberedEntry(keyFile)
	if entry == "" {
		return Precompiled{}, false
	}
	name, learnt, err := checkEntry(ctx, dir, entry, skel, interruptible)
	if err != nil || learnt != "" {
		return Precompiled{}, false
	}
	code := filepath.Join(dir, codeDir)
	if fi, err := os.Lstat(filepath.Join(code, name)); err != nil || !fi.Mode().IsRegular() {
		return Precompiled{}, false
	}
	sweepCode(code, []string{name}, time.Now())
	return Precompiled{Took: time.Since(start), Skeleton: &Skeleton{Entry: entry, Code: name, Sum: skeletonSum(skel),
		Module: module, Interruptible: interruptible}}, true
}
