package wasm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Machine code shared between processes through the page cache.
//
// wazero loads a module's machine code from its compilation cache by copying it into anonymous
// memory of each process: python.wasm with numpy, pandas and matplotlib is 116 MiB of code, so
// every worker held its own private copy, most of an idle worker's memory. The code is
// position independent (the cache stores it once and wazero maps it anywhere), so every process
// that loaded the same module holds the same bytes. [shareCode] puts a file of those bytes
// under the code's own mapping (MAP_FIXED, read and execute only): the page cache then holds one
// copy for every worker, and each worker's share of it shrinks with the number of workers.
//
// The file lives beside wazero's cache, written by whichever process loads the code first, before
// it runs any guest (a worker is confined later and can no longer write there), so it is trusted
// exactly as the compilation cache is. It is never trusted blindly: the bytes are compared with
// the loaded code before the mapping is replaced, and a file that differs (a torn write, another
// build's code under a colliding name) is written again from memory instead.

// minShared is the smallest code mapping worth a file: python.wasm's code is over 8 MiB in any
// build, while the small modules a host also instantiates (WASI, the host services) are not
// loaded from the cache at all.
const minShared = 4 << 20

// sharedCode is how many bytes of machine code this process maps from shared files.
var sharedCode atomic.Int64

// SharedCode reports how many bytes of this process's machine code are mapped from files shared
// with other processes (see [WithSharedCode]).
func SharedCode() int64 { return sharedCode.Load() }

// codeRegion is one mapping of /proc/self/maps.
type codeRegion struct{ start, end uintptr }

// ptr is the region's start as a pointer. The memory is mapped by wazero outside Go's heap,
// where the garbage collector neither moves nor frees anything.
func (r codeRegion) ptr() unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), r.start) }

// codeRegions lists the process's anonymous, private, read-and-execute mappings of at least
// minShared bytes: wazero's machine code (Go's own code is a mapping of the executable file).
func codeRegions() ([]codeRegion, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []codeRegion
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode [path]
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[1] != "r-xp" || fields[4] != "0" || len(fields) > 5 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end-start < minShared {
			continue
		}
		out = append(out, codeRegion{uintptr(start), uintptr(end)})
	}
	return out, sc.Err()
}

// codeDir is the directory, inside the compilation cache's, of the shared code files.
const codeDir = "code"

// codePrefix starts the name of every shared code file.
const codePrefix = "code-"

// shareCode maps every large anonymous code mapping of the process from a file of the same
// bytes in dir (made when missing). It returns how many bytes it shared and the files' names. A
// region it cannot share stays as it was: sharing saves memory and changes nothing else.
func shareCode(dir string) (shared int64, names []string, err error) {
	regions, err := codeRegions()
	if err != nil {
		return 0, nil, fmt.Errorf("wasm: list code mappings: %w", err)
	}
	if len(regions) == 0 {
		return 0, nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, nil, fmt.Errorf("wasm: shared code directory: %w", err)
	}
	var errs []error
	for _, r := range regions {
		name, err := shareRegion(dir, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		shared += int64(r.end - r.start)
		names = append(names, name)
	}
	sharedCode.Add(shared)
	return shared, names, errors.Join(errs...)
}

// shareRegion replaces one code mapping with a mapping of a file holding the same bytes and
// returns the file's name.
func shareRegion(dir string, r codeRegion) (string, error) {
	code := unsafe.Slice((*byte)(r.ptr()), r.end-r.start)
	name := fmt.Sprintf("%s%d-%08x", codePrefix, len(code), sampleSum(code))
	f, err := openCode(filepath.Join(dir, name), code)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// MAP_FIXED swaps the pages in one step; the bytes are the same, so code running in them (none
	// yet: no guest has run) would not notice.
	if _, err := unix.MmapPtr(int(f.Fd()), 0, r.ptr(), r.end-r.start,
		unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
		return "", fmt.Errorf("wasm: map shared code %s: %w", name, err)
	}
	return name, nil
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
	const page, stride = 4096, 16
	var sum uint32
	for off := 0; off < len(code); off += page * stride {
		sum = crc32.Update(sum, castagnoli, code[off:min(off+page, len(code))])
	}
	return crc32.Update(sum, castagnoli, code[max(0, len(code)-page):])
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
