package wasm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"golang.org/x/sys/unix"
)

// Machine code shared between processes through the page cache.
//
// wazero loads a module's machine code from its compilation cache by copying it into anonymous
// memory of each process: python.wasm with numpy, pandas and matplotlib is 139 MiB of code, so
// every worker held its own private copy, most of an idle worker's memory. The code is
// position independent (the cache stores it once and wazero maps it anywhere), so every process
// that loaded the same module holds the same bytes. [shareCode] puts a file of those bytes
// under the code's own mapping (MAP_FIXED, read and execute only): the page cache then holds one
// copy for every worker, and each worker's share of it shrinks with the number of workers.
//
// The file lives beside wazero's cache, written by the server (see [Precompile] and
// publishCode) before any worker starts, or by a process that finds it missing before it runs
// any guest (a worker is confined later and can no longer write there), so it is trusted
// exactly as the compilation cache is. It is never trusted blindly. A host maps it as the code
// loads, in place of wazero's copy, and wazero checks it against its entry's CRC (see
// codecache.go); where that was not done, shareCode compares the bytes with the loaded code
// before the mapping is replaced, and a file that differs (a torn write, another build's code
// under a colliding name) is written again from memory instead.

// codeDir is the directory, inside the compilation cache's, of the shared code files.
const codeDir = "code"

// codePrefix starts the name of every shared code file.
const codePrefix = "code-"

// sharedCode is how many bytes of machine code this process maps from shared files.
var sharedCode atomic.Int64

// SharedCode reports how many bytes of this process's machine code are mapped from files shared
// with other processes.
func SharedCode() int64 { return sharedCode.Load() }

// codeRegion is a range of the address space, whole pages.
type codeRegion struct{ start, end uintptr }

// ptr is the region's start as a pointer. The memory is mapped by wazero outside Go's heap,
// where the garbage collector neither moves nor frees anything.
func (r codeRegion) ptr() unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), r.start) }

// bytes is the region's memory.
func (r codeRegion) bytes() []byte { return unsafe.Slice((*byte)(r.ptr()), r.end-r.start) }

// anonymousMapping reports whether r lies inside one anonymous, private mapping of the process
// with the permissions perms as /proc/self/maps writes them ("r-xp": what wazero's machine code
// is; "rw-p": the memory wazero reserved for it, before it fills it), unlike a hugetlb mapping
// (which names a file in /proc/self/maps) or memory already unmapped.
func anonymousMapping(r codeRegion, perms string) (bool, error) {
	p, file, ok, err := mappingOf(r)
	return ok && p == perms && file == "", err
}

// mappingOf returns the permissions of the one mapping that holds all of r and the file it
// maps ("" for anonymous memory); ok is false when no one mapping holds r.
func mappingOf(r codeRegion) (perms, file string, ok bool, err error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return "", "", false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode [path]
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		lo, hi, found := strings.Cut(fields[0], "-")
		if !found {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || uintptr(start) > r.start || r.start >= uintptr(end) {
			continue
		}
		if r.end > uintptr(end) {
			return "", "", false, nil
		}
		if len(fields) > 5 {
			file = strings.Join(fields[5:], " ")
		} else if fields[4] != "0" {
			file = "?"
		}
		return fields[1], file, true, nil
	}
	return "", "", false, sc.Err()
}

// codeRegionOf returns the pages of compiled's machine code.
func codeRegionOf(compiled wazero.CompiledModule) (codeRegion, error) {
	start, n, ok := executableOf(compiled)
	if !ok {
		return codeRegion{}, errors.New("wasm: share machine code: wazero's compiled module is not what this build knows")
	}
	ps := uintptr(os.Getpagesize())
	r := codeRegion{start, start + (uintptr(n)+ps-1)&^(ps-1)}
	if r.start%ps != 0 {
		return codeRegion{}, fmt.Errorf("wasm: share machine code: it starts at %#x, not on a page", r.start)
	}
	return r, nil
}

// codeOf returns the pages of compiled's machine code, after checking that they are one
// anonymous read-and-execute mapping of their own.
func codeOf(compiled wazero.CompiledModule) (codeRegion, error) {
	r, err := codeRegionOf(compiled)
	if err != nil {
		return codeRegion{}, err
	}
	if ok, err := anonymousMapping(r, "r-xp"); err != nil || !ok {
		return codeRegion{}, fmt.Errorf("wasm: share machine code: not one anonymous read-and-execute mapping (%v)", err)
	}
	return r, nil
}

// codeName is the name of the shared file of code.
func codeName(code []byte) string { return codeFileName(len(code), sampleSum(code)) }

// codeFileName is the name of the shared file of n bytes of code whose [sampleSum] is sum.
func codeFileName(n int, sum uint32) string { return fmt.Sprintf("%s%d-%08x", codePrefix, n, sum) }

// publishCode writes the machine code of compiled to its file in dir, unless the file holds it
// already, and returns the file's name. The process's own code stays as it is: the server
// publishes for its workers (see [Precompile]) and runs no guest itself.
func publishCode(compiled wazero.CompiledModule, dir string) (string, error) {
	r, err := codeOf(compiled)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("wasm: shared code directory: %w", err)
	}
	code := r.bytes()
	f, err := openCode(filepath.Join(dir, codeName(code)), code)
	if err != nil {
		return "", err
	}
	f.Close()
	return codeName(code), nil
}

// shareCode maps the machine code of compiled from a file of the same bytes in dir (made when
// missing) and returns the file's name. Where it cannot, the code stays as it was (sharing saves
// memory and changes nothing else) and it says why; fatal is set only when the code could not
// be put back as it was, and the host must not be used.
func shareCode(compiled wazero.CompiledModule, dir string) (name string, fatal bool, err error) {
	r, err := codeOf(compiled)
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("wasm: shared code directory: %w", err)
	}
	name, fatal, err = shareRegion(dir, r)
	if err == nil {
		sharedCode.Add(int64(r.end - r.start))
	}
	return name, fatal, err
}

// shareRegion replaces one code mapping with a mapping of a file holding the same bytes and
// returns the file's name.
func shareRegion(dir string, r codeRegion) (name string, fatal bool, err error) {
	code := r.bytes()
	name = codeName(code)
	f, err := openCode(filepath.Join(dir, name), code)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	// MAP_FIXED swaps the pages in one step; the bytes are the same, so code running in them (none
	// yet: no guest has run) would not notice.
	if _, err := unix.MmapPtr(int(f.Fd()), 0, r.ptr(), r.end-r.start,
		unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
		// A kernel may have unmapped the range before it failed: put the code back from the
		// file, which holds the same bytes.
		if rerr := restoreRegion(f, r); rerr != nil {
			return "", true, fmt.Errorf("wasm: map shared code %s: %w; the code could not be put back: %w", name, err, rerr)
		}
		return "", false, fmt.Errorf("wasm: map shared code %s: %w", name, err)
	}
	return name, false, nil
}

// restoreRegion maps r anonymous again, with the bytes of f, read and execute only.
func restoreRegion(f *os.File, r codeRegion) error {
	if _, err := unix.MmapPtr(-1, 0, r.ptr(), r.end-r.start, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED); err != nil {
		return err
	}
	mem := r.bytes()
	if _, err := f.ReadAt(mem, 0); err != nil {
		return err
	}
	return unix.Mprotect(mem, unix.PROT_READ|unix.PROT_EXEC)
}

// sweepCode removes from dir the code files not named in keep (other builds', or compiled with
// the other interrupt setting) once they are older than staleImage, and the temporary files of
// writers that were killed. A process that maps a removed file keeps its pages: a file is never
// changed in place, only replaced.
func sweepCode(dir string, keep []string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if slices.Contains(keep, name) || !(strings.HasPrefix(name, codePrefix) || strings.HasPrefix(name, "."+codePrefix)) {
			continue
		}
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && now.Sub(info.ModTime()) > staleImage {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sampleSum is a checksum of every 16th page of code: enough to tell different builds' code of
// the same length apart in a file's name (a name that collides only makes a process compare,
// find the file different and write it again), at a sixteenth of a full checksum's cost
// (60 ms for python.wasm's code, in every worker's start).
func sampleSum(code []byte) uint32 {
	sum, _ := sampleSumAt(bytes.NewReader(code), 0, int64(len(code)))
	return sum
}

// sampleSumAt is the [sampleSum] of the n bytes of code at offset at of r.
func sampleSumAt(r io.ReaderAt, at, n int64) (uint32, error) {
	const page, stride = 4096, 16
	buf := make([]byte, page)
	var sum uint32
	add := func(off int64) error {
		b := buf[:min(page, n-off)]
		if len(b) == 0 {
			return nil
		}
		if _, err := r.ReadAt(b, at+off); err != nil {
			return err
		}
		sum = crc32.Update(sum, castagnoli, b)
		return nil
	}
	for off := int64(0); off < n; off += page * stride {
		if err := add(off); err != nil {
			return 0, err
		}
	}
	return sum, add(max(0, n-page))
}

// openCode opens the file name if it holds exactly code, writing it from code first when it is
// missing or holds anything else.
func openCode(name string, code []byte) (*os.File, error) {
	if f, err := os.OpenFile(name, os.O_RDONLY|unix.O_NOFOLLOW, 0); err == nil {
		same, err := sameBytes(f, code)
		if err == nil && same {
			return f, nil
		}
		f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".code-*")
	if err != nil {
		return nil, fmt.Errorf("wasm: write shared code: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(code); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("wasm: write shared code: %w", err)
	}
	// Synced before it is published: a write error must surface now, not when evicted pages are
	// read back under every worker's mapping.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("wasm: write shared code: %w", err)
	}
	if err := tmp.Chmod(0o400); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("wasm: write shared code: %w", err)
	}
	// Another process may rename its own copy over this one at the same time: the bytes are the
	// same, and the open descriptor keeps this one.
	if err := os.Rename(tmp.Name(), name); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("wasm: write shared code: %w", err)
	}
	if same, err := sameBytes(tmp, code); err != nil || !same {
		tmp.Close()
		return nil, fmt.Errorf("wasm: shared code %s does not read back as written", name)
	}
	return tmp, nil
}

// sameBytes reports whether f holds exactly code. It maps the file rather than reading it, so
// the comparison also brings the file's pages into the page cache the code will be mapped from.
func sameBytes(f *os.File, code []byte) (bool, error) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() != int64(len(code)) {
		return false, err
	}
	m, err := unix.Mmap(int(f.Fd()), 0, len(code), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return false, err
	}
	defer unix.Munmap(m)
	return bytes.Equal(m, code), nil
}
