package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"wasmbox/wasm/cpython"
)

// Image is an instance at rest: its linear memory. It is only valid for the build it was
// taken from ([Host.BuildID]) and is not modified after it is made.
type Image struct {
	// Build is the [Host.BuildID] of the host that took it.
	Build string
	// Memory is the linear memory, a whole number of 64 KiB pages.
	Memory []byte
	// ID is the SHA-256 of Memory, for base images (snapshots store pages that differ from
	// one, so they name it).
	ID string
}

// imageHeader starts a base image file: "WBXBASE2", the hex SHA-256 of the memory (its ID),
// the hex CRC-32C of the ID and the memory, padding to 4 KiB; the memory follows. A process
// that maps the file checks the CRC, not the SHA-256: it catches a damaged or torn file as
// well, at a fifth of the cost (10 ms, not 45, for the 67 MiB image of python.wasm with
// numpy, pandas and matplotlib, in every worker's start).
const (
	imageMagic  = "WBXBASE2"
	imageHeader = 4096
)

// imageHead is the start of a base image file's header for memory of the given ID.
func imageHead(id string, mem []byte) string {
	sum := crc32.Update(crc32.Checksum([]byte(id), castagnoli), castagnoli, mem)
	return fmt.Sprintf("%s%s%08x", imageMagic, id, sum)
}

// ErrForeignImage reports an image taken from another build of python.wasm or its driver.
var ErrForeignImage = errors.New("wasm: image from another build")

// BuildID identifies python.wasm, its standard library, the driver and the environment: the
// things an image depends on.
func (h *Host) BuildID() string { return h.baseHash }

// Image saves the instance's state. It must not be in a call (it waits for one to end).
func (in *Instance) Image() (*Image, error) {
	in.callMu.Lock()
	defer in.callMu.Unlock()
	if err := in.Err(); err != nil {
		return nil, err
	}
	mem := in.mod.Memory()
	b, ok := mem.Read(0, mem.Size())
	if !ok {
		return nil, errors.New("wasm: read memory")
	}
	return &Image{Build: in.host.baseHash, Memory: bytes.Clone(b)}, nil
}

// Restored is what the driver reported when it woke up from an image.
type Restored struct {
	// Closed names the files (and sqlite3 connections) that were open in the image; their
	// descriptors did not survive, so they were closed.
	Closed []string `json:"closed"`
}

// Restore makes a new instance from img, without running CPython's start-up: the memory is
// written back and the driver is told it woke up (it reseeds random and closes files whose
// descriptors are gone).
func (h *Host) Restore(ctx context.Context, spec Spec, img *Image) (*Instance, Restored, error) {
	if img.Build != h.baseHash {
		return nil, Restored{}, ErrForeignImage
	}
	if len(img.Memory)%pageSize != 0 || int64(len(img.Memory)) > h.memory {
		return nil, Restored{}, fmt.Errorf("wasm: image of %d bytes: not whole pages, or over the memory limit", len(img.Memory))
	}
	in, err := h.instantiate(spec)
	if err != nil {
		return nil, Restored{}, err
	}
	mem := in.mod.Memory()
	if have, want := mem.Size()/pageSize, uint32(len(img.Memory)/pageSize); want > have {
		if _, ok := mem.Grow(want - have); !ok {
			in.Close()
			return nil, Restored{}, errors.New("wasm: grow memory for the image")
		}
	} else if want < have {
		in.Close()
		return nil, Restored{}, fmt.Errorf("wasm: image of %d pages is smaller than a new instance's %d", want, have)
	}
	if cowImages && img == h.base && h.baseFile != nil && in.cow != nil {
		// The base image's pages are mapped copy-on-write from its file, not copied.
		if err := in.cow.mapImage(h.baseFile, imageHeader, len(img.Memory)); err != nil {
			in.Close()
			return nil, Restored{}, fmt.Errorf("wasm: map the base image: %w", err)
		}
	} else if !mem.Write(0, img.Memory) {
		in.Close()
		return nil, Restored{}, errors.New("wasm: write the image")
	}
	// Only a saved session can hold open files; the base image holds none, and looking for
	// them walks every object (~20 ms).
	return in.wake(ctx, img != h.base)
}

// wake tells a restored instance it woke up, and closes it if that fails.
func (in *Instance) wake(ctx context.Context, files bool) (*Instance, Restored, error) {
	out, err := in.Call(ctx, fmt.Appendf(nil, `{"op":"restored","files":%t}`, files), nil)
	var r Restored
	if err == nil {
		err = json.Unmarshal(out, &r)
	}
	if err != nil {
		in.Close()
		return nil, Restored{}, fmt.Errorf("wasm: wake the restored interpreter: %w", err)
	}
	return in, r, nil
}

// RestoreChanges makes a new instance with size bytes of memory that hold the base image
// (mapped copy-on-write from its file where the host has it, else copied) and zeros past it;
// change then writes what differs into that memory in place, and the instance is woken as
// [Host.Restore] wakes one. A saved session thus costs what it changed: the pages it left as
// they were are never copied. change's error is returned as it is (wrapped) and the instance
// closed.
func (h *Host) RestoreChanges(ctx context.Context, spec Spec, size int, change func(mem []byte) error) (*Instance, Restored, error) {
	base, err := h.baseImage(ctx)
	if err != nil {
		return nil, Restored{}, err
	}
	if size%pageSize != 0 || int64(size) > h.memory || size < len(base.Memory) {
		return nil, Restored{}, fmt.Errorf("wasm: memory of %d bytes: not whole pages, over the memory limit or smaller than the base image", size)
	}
	in, err := h.instantiate(spec)
	if err != nil {
		return nil, Restored{}, err
	}
	mem := in.mod.Memory()
	useCow := cowImages && h.baseFile != nil && in.cow != nil
	if have, want := mem.Size()/pageSize, uint32(size/pageSize); want > have {
		// A new instance is smaller than the base image: the pages past its own are zeros.
		// Its own contents need not move with it where the base image is mapped over them.
		if useCow {
			in.cow.discard = int(have)*pageSize <= len(base.Memory)
		}
		_, ok := mem.Grow(want - have)
		if in.cow != nil {
			in.cow.discard = false
		}
		if !ok {
			in.Close()
			return nil, Restored{}, errors.New("wasm: grow memory for the image")
		}
	}
	if useCow {
		if err := in.cow.mapImage(h.baseFile, imageHeader, len(base.Memory)); err != nil {
			in.Close()
			return nil, Restored{}, fmt.Errorf("wasm: map the base image: %w", err)
		}
	} else if !mem.Write(0, base.Memory) {
		in.Close()
		return nil, Restored{}, errors.New("wasm: write the base image")
	}
	b, ok := mem.Read(0, uint32(size))
	if !ok {
		in.Close()
		return nil, Restored{}, errors.New("wasm: read memory")
	}
	if err := change(b); err != nil {
		in.Close()
		return nil, Restored{}, fmt.Errorf("wasm: restore: %w", err)
	}
	return in.wake(ctx, true)
}

// baseImage returns the base image: read from the image directory, or made by starting CPython
// once (and then saved there).
func (h *Host) baseImage(ctx context.Context) (*Image, error) {
	h.baseOnce.Do(func() {
		path := ""
		if h.cacheDir != "" {
			path = filepath.Join(h.cacheDir, imagePrefix+h.baseHash[:16]+".mem")
			sweepImages(h.cacheDir, filepath.Base(path), time.Now())
			if img := h.readBase(path); img != nil {
				h.base = img
				return
			}
		}
		in, err := h.Boot(ctx, Spec{fixed: true})
		if err != nil {
			h.baseErr = err
			return
		}
		defer in.Close()
		img, err := in.Image()
		if err != nil {
			h.baseErr = err
			return
		}
		sum := sha256.Sum256(img.Memory)
		img.ID = hex.EncodeToString(sum[:])
		h.base = img
		if path == "" {
			return
		}
		h.publish(path, img)
		// Mapped from the file, the image's pages are shared by every process.
		if m := h.readBase(path); m != nil {
			h.base = m
		}
	})
	return h.base, h.baseErr
}

// imagePrefix starts the name of every base image file (and of its publishers' temporary
// files, see [Host.publish]).
const imagePrefix = "python-image-"

// staleImage is how old a base image of another build, or a publisher's temporary file, must
// be before it is removed: a process of another build may still start workers that map its
// image (during an upgrade; one that finds it gone makes and publishes it again), and a
// publisher may still be writing.
const staleImage = time.Hour

// sweepImages removes from dir, once they are older than staleImage, the base images of other
// builds (tens of megabytes each; every build that ran with this directory left one, and its
// snapshots are reset on thaw anyway) and the temporary files of publishers that were killed.
// keep is the current build's image. A process that still maps a removed image keeps its
// pages: only a file that shrinks would hurt it.
func sweepImages(dir, keep string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if name == keep || !strings.HasPrefix(name, imagePrefix) ||
			!(strings.HasSuffix(name, ".mem") || strings.Contains(name, ".mem.tmp-")) {
			continue
		}
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && now.Sub(info.ModTime()) > staleImage {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

// publish writes img to path unless a well-formed image is there already. The first process
// to publish wins, and every other one adopts its image (see [Host.readBase]), so all processes
// sharing the directory use the same base and can thaw each other's snapshots.
//
// Workers map the published file, and a mapped file that shrinks under a process kills it with
// SIGBUS: a file at path is therefore never written again. Each publisher writes a file of its
// own under a random name (workers are PID 1 of their namespaces, so a name made from the pid
// is shared), syncs it, and links it to path only if path is absent: a hard link fails if the
// name exists. What is there and malformed (damaged) is replaced by an atomic rename, never
// rewritten in place, or every process would keep an image of its own.
func (h *Host) publish(path string, img *Image) {
	if os.MkdirAll(h.cacheDir, 0o755) != nil {
		return
	}
	f, err := os.CreateTemp(h.cacheDir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	head := make([]byte, imageHeader)
	copy(head, imageHead(img.ID, img.Memory))
	_, err = f.Write(head)
	if err == nil {
		_, err = f.Write(img.Memory)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err != nil || cerr != nil {
		return
	}
	if os.Link(tmp, path) != nil && !h.baseFileOK(path) {
		os.Rename(tmp, path)
	}
	if d, err := os.Open(h.cacheDir); err == nil {
		d.Sync()
		d.Close()
	}
}

// cowImages turns on mapping the base image copy-on-write into new instances (else it is
// copied); a variable so the benchmark can compare both.
var cowImages = true

// baseFileOK reports whether path holds a well-formed base image (see [Host.checkImage]).
func (h *Host) baseFileOK(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := mapFile(f)
	if err != nil {
		return false
	}
	defer syscall.Munmap(b)
	_, _, ok := h.checkImage(b)
	return ok
}

// checkImage splits a base image file's bytes into the memory and its ID, and reports whether
// they are well formed: the magic, whole pages within the memory limit, and the CRC-32C the
// header names of the ID and the memory. A damaged or torn file would make every interpreter
// start from garbage, and is refused; the ID itself (the memory's SHA-256, computed by the
// process that made the image) is taken from the header, as the directory is the server's own,
// trusted as the compilation cache is.
func (h *Host) checkImage(b []byte) (mem []byte, id string, ok bool) {
	if len(b) <= imageHeader || string(b[:len(imageMagic)]) != imageMagic {
		return nil, "", false
	}
	mem = b[imageHeader:]
	if len(mem)%pageSize != 0 || int64(len(mem)) > h.memory {
		return nil, "", false
	}
	id = string(b[len(imageMagic) : len(imageMagic)+64])
	if _, err := hex.DecodeString(id); err != nil {
		return nil, "", false
	}
	if want := imageHead(id, mem); string(b[:len(want)]) != want {
		return nil, "", false
	}
	return mem, id, true
}

// readBase maps a base image file; nil when it is missing or malformed. The file stays open
// for new instances to map (see cowMemory). Only files [Host.publish] has linked are read, and
// they never change, so the mapping cannot shrink under the process.
func (h *Host) readBase(path string) *Image {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	b, err := mapFile(f)
	if err != nil {
		f.Close()
		return nil
	}
	mem, id, ok := h.checkImage(b)
	if !ok {
		syscall.Munmap(b)
		f.Close()
		return nil
	}
	if h.baseFile != nil {
		h.baseFile.Close()
	}
	h.baseFile = f
	return &Image{Build: h.baseHash, Memory: mem, ID: id}
}

// BaseImage returns the base image, making it if needed (see [Host.Start]).
func (h *Host) BaseImage(ctx context.Context) (*Image, error) { return h.baseImage(ctx) }

// guestMounts names the guest's directories, in the order they are mounted: wasi-libc reads
// them (its preopens) when the interpreter starts, into memory an image keeps, so an image made
// with other mounts cannot open paths under a new one.
var guestMounts = []string{StdlibPath, ZoneinfoPath, MplDataPath, AssetsPath, DevPath, WorkspacePath, DataAliasPath}

// buildHash hashes what an image depends on: python.wasm, the standard library, the driver's
// files, the guest's mounts and the environment.
func buildHash(wasm []byte, assets fs.FS, env map[string]string) string {
	sum := sha256.New()
	sum.Write(wasm)
	fmt.Fprintf(sum, "mounts=%q\x00", guestMounts)
	if zip, err := fs.ReadFile(cpython.Files, cpython.StdlibZip); err == nil {
		sum.Write(zip)
	}
	if assets != nil {
		fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, _ := fs.ReadFile(assets, p)
			fmt.Fprintf(sum, "%s\x00%d\x00", p, len(b))
			sum.Write(b)
			return nil
		})
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(sum, "%s=%s\x00", k, env[k])
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// mapFile maps a file read-only and private: the pages of the page cache are shared by every
// process that maps it, instead of each holding a copy on its heap. The mapping is never
// unmapped (base images live as long as the process).
func mapFile(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil, fmt.Errorf("wasm: map %s: empty or unreadable", f.Name())
	}
	return syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_PRIVATE)
}

// fixedWorld gives a guest a random stream from a fixed seed and a clock that starts at a
// fixed time and advances 1 ms a reading. The base image is made so: its bytes then depend only
// on the build, and every process of the build, on any machine (replicas of a cluster), makes
// the same image, so each one thaws the others' snapshots (stored as pages that differ from
// it). What CPython draws at start from that stream (its hash seed, random's and numpy's
// seeds) is the same for every interpreter of a build anyway, as they all start from the one
// image: the driver reseeds random and numpy from the real source in every new interpreter
// (wasmbox_driver.py), and os.urandom and secrets read the real source.
func fixedWorld(cfg wazero.ModuleConfig) wazero.ModuleConfig {
	var seed [32]byte
	copy(seed[:], "wasmbox base image")
	var ticks atomic.Int64
	now := func() int64 { return ticks.Add(int64(time.Millisecond)) }
	const epoch = 1767225600 // 2026-01-01T00:00:00Z
	return cfg.WithRandSource(mrand.NewChaCha8(seed)).
		WithWalltime(func() (int64, int32) {
			n := now()
			return epoch + n/1e9, int32(n % 1e9)
		}, sys.ClockResolution(time.Millisecond)).
		WithNanotime(now, sys.ClockResolution(time.Millisecond))
}
