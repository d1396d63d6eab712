package python

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"wasmbox/wasm"
)

// A snapshot is an interpreter at rest, stored: its linear memory as the pages that differ
// from the base image, compressed. Pages equal to the base image's, and zero pages past it,
// are not stored, so a session that imported little and holds little data costs little.
//
//	"WBXSNAP1"                   magic
//	u16 + build id               the wasm.Host.BuildID it belongs to
//	u16 + base id                the base image's wasm.Image.ID its pages are relative to
//	u32 pages                    the memory's size in 64 KiB pages
//	pages bytes                  per page: 0 as the base image, 1 zero, 2 stored
//	deflate stream               the stored pages, in order
const (
	snapMagic = "WBXSNAP1"
	snapPage  = 64 << 10
	pageBase  = 0
	pageZero  = 1
	pageData  = 2
)

// Snapshot errors: each leaves the session with a fresh interpreter (state_reset) and says why.
var (
	// ErrForeignSnapshot is a snapshot of another build of python.wasm or its driver.
	ErrForeignSnapshot = errors.New("python: snapshot from another build of wasmbox's Python")
	// ErrBadSnapshot is a snapshot that is truncated or corrupt.
	ErrBadSnapshot = errors.New("python: snapshot is corrupt or truncated")
	// ErrSnapshotTooLarge is a snapshot over the configured cap.
	ErrSnapshotTooLarge = errors.New("python: snapshot over the size cap")
)

// encodeSnapshot writes img as a snapshot against base; over max bytes (0: no cap) it stops
// with ErrSnapshotTooLarge.
func encodeSnapshot(img, base *wasm.Image, max int64) ([]byte, error) {
	if len(img.Memory)%snapPage != 0 {
		return nil, fmt.Errorf("python: image of %d bytes is not whole pages", len(img.Memory))
	}
	pages := len(img.Memory) / snapPage
	var buf bytes.Buffer
	buf.WriteString(snapMagic)
	for _, s := range []string{img.Build, base.ID} {
		binary.Write(&buf, binary.LittleEndian, uint16(len(s)))
		buf.WriteString(s)
	}
	binary.Write(&buf, binary.LittleEndian, uint32(pages))
	kinds := make([]byte, pages)
	var zero [snapPage]byte
	for i := range pages {
		p := img.Memory[i*snapPage : (i+1)*snapPage]
		switch {
		case (i+1)*snapPage <= len(base.Memory) && bytes.Equal(p, base.Memory[i*snapPage:(i+1)*snapPage]):
			kinds[i] = pageBase
		case bytes.Equal(p, zero[:]):
			kinds[i] = pageZero
		default:
			kinds[i] = pageData
		}
	}
	buf.Write(kinds)
	w := &capped{w: &buf, max: max}
	zw, _ := flate.NewWriter(w, flate.BestSpeed)
	for i, k := range kinds {
		if k != pageData {
			continue
		}
		if _, err := zw.Write(img.Memory[i*snapPage : (i+1)*snapPage]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// capped is a writer that fails once max bytes (0: no cap) have gone to w.
type capped struct {
	w   *bytes.Buffer
	max int64
}

func (c *capped) Write(p []byte) (int, error) {
	if c.max > 0 && int64(c.w.Len()+len(p)) > c.max {
		return 0, ErrSnapshotTooLarge
	}
	return c.w.Write(p)
}

// decodeSnapshot reads a snapshot back into an image of build, against base.
func decodeSnapshot(data []byte, base *wasm.Image, build string, maxMemory int64) (*wasm.Image, error) {
	r := bytes.NewReader(data)
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapMagic {
		return nil, fmt.Errorf("%w: not a wasmbox snapshot", ErrBadSnapshot)
	}
	var ids [2]string
	for i := range ids {
		var n uint16
		if binary.Read(r, binary.LittleEndian, &n) != nil || int(n) > r.Len() {
			return nil, ErrBadSnapshot
		}
		id := make([]byte, n)
		io.ReadFull(r, id)
		ids[i] = string(id)
	}
	if ids[0] != build {
		return nil, ErrForeignSnapshot
	}
	if ids[1] != base.ID {
		return nil, fmt.Errorf("%w (made against another base image)", ErrForeignSnapshot)
	}
	var pages uint32
	if binary.Read(r, binary.LittleEndian, &pages) != nil || int64(pages)*snapPage > maxMemory || int(pages) > r.Len() {
		return nil, fmt.Errorf("%w: bad size", ErrBadSnapshot)
	}
	kinds := make([]byte, pages)
	if _, err := io.ReadFull(r, kinds); err != nil {
		return nil, ErrBadSnapshot
	}
	mem := make([]byte, int(pages)*snapPage)
	zr := flate.NewReader(bufio.NewReaderSize(r, 1<<20))
	for i, k := range kinds {
		p := mem[i*snapPage : (i+1)*snapPage]
		switch k {
		case pageBase:
			if (i+1)*snapPage > len(base.Memory) {
				return nil, fmt.Errorf("%w: page %d refers past the base image", ErrBadSnapshot, i)
			}
			copy(p, base.Memory[i*snapPage:])
		case pageZero:
		case pageData:
			if _, err := io.ReadFull(zr, p); err != nil {
				return nil, fmt.Errorf("%w: page %d: %v", ErrBadSnapshot, i, err)
			}
		default:
			return nil, fmt.Errorf("%w: page kind %d", ErrBadSnapshot, k)
		}
	}
	return &wasm.Image{Build: build, Memory: mem}, nil
}

// SnapshotCap bounds the snapshots interpreters make (WASMBOX_SNAPSHOT_MAX_MB); 0: no cap.
func WithSnapshotCap(bytes int64) Option {
	return func(c *config) error {
		if bytes < 0 {
			return fmt.Errorf("python: snapshot cap %d: must not be negative", bytes)
		}
		c.snapshotCap = bytes
		return nil
	}
}

// Freeze implements [runtime.Freezer]: the interpreter's open files are flushed, and its
// memory is saved as the pages that differ from the base image, compressed.
func (ip *Interpreter) Freeze(ctx context.Context) ([]byte, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	ip.gmu.Lock()
	g := ip.g
	ip.gmu.Unlock()
	if g == nil {
		return nil, nil
	}
	if _, err := g.in.Call(ctx, []byte(`{"op":"freeze"}`), nil); err != nil {
		ip.drop(g)
		return nil, fmt.Errorf("python: freeze: %w", err)
	}
	img, err := g.in.Image()
	if err != nil {
		return nil, fmt.Errorf("python: freeze: %w", err)
	}
	base, err := ip.engine.host.BaseImage(ctx)
	if err != nil {
		return nil, err
	}
	return encodeSnapshot(img, base, ip.engine.snapshotCap)
}

// Thaw implements [runtime.Freezer]: a new guest is made from the snapshot and replaces the
// interpreter's; files the snapshot had open are closed and named in the notes.
func (ip *Interpreter) Thaw(ctx context.Context, data []byte) (string, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	e := ip.engine
	if e.snapshotCap > 0 && int64(len(data)) > e.snapshotCap {
		return "", ErrSnapshotTooLarge
	}
	base, err := e.host.BaseImage(ctx)
	if err != nil {
		return "", err
	}
	img, err := decodeSnapshot(data, base, e.host.BuildID(), e.host.MemoryLimit())
	if err != nil {
		return "", err
	}
	in, restored, err := e.host.Restore(ctx, e.spec(), img)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	g, err := e.hello(ctx, in)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	if err := g.in.BindWorkspace(ip.dir); err != nil {
		g.in.Close()
		return "", fmt.Errorf("python: open workspace: %w", err)
	}
	ip.gmu.Lock()
	old := ip.g
	closed := ip.closed
	if !closed {
		ip.g = g
		ip.lost = false
	}
	ip.gmu.Unlock()
	if old != nil {
		old.in.Close()
	}
	if closed {
		g.in.Close()
		return "", ErrClosed
	}
	if len(restored.Closed) > 0 {
		return fmt.Sprintf("files that were open were closed: %s", strings.Join(restored.Closed, ", ")), nil
	}
	return "", nil
}
