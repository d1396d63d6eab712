package python

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strings"

	"wasmbox/wasm"
)

// A snapshot is an interpreter at rest, stored: its linear memory as the pages that differ
// from the base image, compressed. Pages equal to the base image's, and zero pages past it,
// are not stored, so a session that imported little and holds little data costs little. A
// page of the base image's range that differs is stored as the 4 KiB blocks of it that differ,
// each as its XOR with the base image's block: a few objects' reference counts and fields
// changed in such a block, so the delta is mostly zeros and compresses to little.
//
//	"WBXSNAP3"                   magic ("WBXSNAP2": the same without kind 4, still read)
//	u16 + build id               the wasm.Host.BuildID it belongs to
//	u16 + base id                the base image's wasm.Image.ID its pages are relative to
//	u32 pages                    the memory's size in 64 KiB pages
//	pages bytes                  per page: 0 as the base image, 1 zero, 2 stored, 3 stored as
//	                             its XOR with the base image's page, 4 stored as the blocks
//	                             that differ: a u16 mask of them (bit i: bytes i*4096 on)
//	                             and each one's XOR with the base image's block, in order
//	deflate stream               the stored pages, in order
//	u32 CRC-32C                  of every byte before it
//
// deflate has no checksum of its own: without the CRC, a flipped byte in the stream could
// decode to a different memory without an error, and a session would go on from a corrupt
// state.
const (
	snapMagic   = "WBXSNAP3"
	snapMagicV2 = "WBXSNAP2"
	snapPage    = 64 << 10
	snapBlock   = 4 << 10 // the unit of kind 4
	pageBase    = 0
	pageZero    = 1
	pageData    = 2
	pageDelta   = 3
	pageBlocks  = 4
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

// encodeSnapshot writes the linear memory mem of build as a snapshot against base to w, as it
// goes: only a page map (one byte per 64 KiB page) and the compressor's state are held. Over
// max bytes (0: no cap) it stops with ErrSnapshotTooLarge. hints (empty, or one per page: see
// [wasm.Instance.ViewMemory]) name the pages and blocks known to be as the base image or
// zeros, which are then not read.
func encodeSnapshot(w io.Writer, mem []byte, hints wasm.Hints, build string, base *wasm.Image, max int64) error {
	if len(mem)%snapPage != 0 {
		return fmt.Errorf("python: memory of %d bytes is not whole pages", len(mem))
	}
	pages := len(mem) / snapPage
	cw := &capped{w: w, max: max}
	out := bufio.NewWriterSize(cw, 64<<10)
	sum := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(out, sum), 64<<10)
	bw.WriteString(snapMagic)
	for _, s := range []string{build, base.ID} {
		binary.Write(bw, binary.LittleEndian, uint16(len(s)))
		bw.WriteString(s)
	}
	binary.Write(bw, binary.LittleEndian, uint32(pages))
	kinds := make([]byte, pages)
	masks := make([]uint16, pages) // of kind pageBlocks
	var zero [snapPage]byte
	if len(hints.Kind) != pages {
		hints = wasm.Hints{}
	}
	for i := range pages {
		p := mem[i*snapPage : (i+1)*snapPage]
		inBase := (i+1)*snapPage <= len(base.Memory)
		hint, read := wasm.HintRead, uint16(0xffff)
		if hints.Kind != nil {
			hint, read = hints.Kind[i], hints.Blocks[i]
		}
		switch {
		case hint == wasm.HintBase && inBase:
			kinds[i] = pageBase
		case hint == wasm.HintZero:
			kinds[i] = pageZero
		case inBase:
			// Only the blocks that may have been written are read (the others are still
			// the base image's file).
			b := base.Memory[i*snapPage : (i+1)*snapPage]
			for k := range snapPage / snapBlock {
				lo, hi := k*snapBlock, (k+1)*snapBlock
				if read&(1<<k) != 0 && !bytes.Equal(p[lo:hi], b[lo:hi]) {
					masks[i] |= 1 << k
				}
			}
			kinds[i] = pageBase
			if masks[i] != 0 {
				kinds[i] = pageBlocks
			}
		case bytes.Equal(p, zero[:]):
			kinds[i] = pageZero
		default:
			kinds[i] = pageData
		}
	}
	bw.Write(kinds)
	zw, _ := flate.NewWriter(bw, flate.BestSpeed)
	delta := make([]byte, snapBlock)
	for i, k := range kinds {
		p := mem[i*snapPage : (i+1)*snapPage]
		switch k {
		case pageBlocks:
			var m [2]byte
			binary.LittleEndian.PutUint16(m[:], masks[i])
			if _, err := zw.Write(m[:]); err != nil {
				return err
			}
			b := base.Memory[i*snapPage : (i+1)*snapPage]
			for k := range snapPage / snapBlock {
				if masks[i]&(1<<k) == 0 {
					continue
				}
				lo, hi := k*snapBlock, (k+1)*snapBlock
				subtle.XORBytes(delta, p[lo:hi], b[lo:hi])
				if _, err := zw.Write(delta); err != nil {
					return err
				}
			}
		case pageData:
			if _, err := zw.Write(p); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	binary.Write(out, binary.LittleEndian, sum.Sum32())
	return out.Flush()
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// summing reads through r and sums what it reads. It is an io.ByteReader, so flate reads from
// it no further than the end of its stream.
type summing struct {
	r   *bufio.Reader
	sum uint32
}

func (s *summing) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.sum = crc32.Update(s.sum, castagnoli, p[:n])
	return n, err
}

func (s *summing) ReadByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == nil {
		s.sum = crc32.Update(s.sum, castagnoli, []byte{b})
	}
	return b, err
}

// capped is a writer that fails once max bytes (0: no cap) have gone to w.
type capped struct {
	w   io.Writer
	n   int64
	max int64
}

func (c *capped) Write(p []byte) (int, error) {
	if c.max > 0 && c.n+int64(len(p)) > c.max {
		return 0, ErrSnapshotTooLarge
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// capReader reads at most left bytes of r; past them it fails, and says so in over.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.over = true
		return 0, ErrSnapshotTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// snapReader is a snapshot whose header has been read and checked: what is left is its pages.
type snapReader struct {
	raw   *bufio.Reader
	br    *summing
	kinds []byte // one per 64 KiB page
}

// readSnapshot reads and checks a snapshot's header from r: build and base must be the ones it
// was made with, and its memory within maxMemory.
func readSnapshot(r io.Reader, base *wasm.Image, build string, maxMemory int64) (*snapReader, error) {
	raw := bufio.NewReaderSize(r, 1<<20)
	br := &summing{r: raw}
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapMagic && string(magic) != snapMagicV2 {
		return nil, fmt.Errorf("%w: not a wasmbox snapshot", ErrBadSnapshot)
	}
	maxKind := byte(pageBlocks)
	if string(magic) == snapMagicV2 {
		maxKind = pageDelta
	}
	var ids [2]string
	for i := range ids {
		var n uint16
		if binary.Read(br, binary.LittleEndian, &n) != nil {
			return nil, ErrBadSnapshot
		}
		id := make([]byte, n)
		if _, err := io.ReadFull(br, id); err != nil {
			return nil, ErrBadSnapshot
		}
		ids[i] = string(id)
	}
	if ids[0] != build {
		return nil, ErrForeignSnapshot
	}
	if ids[1] != base.ID {
		return nil, fmt.Errorf("%w (made against another base image)", ErrForeignSnapshot)
	}
	var pages uint32
	if binary.Read(br, binary.LittleEndian, &pages) != nil || int64(pages)*snapPage > maxMemory {
		return nil, fmt.Errorf("%w: bad size", ErrBadSnapshot)
	}
	if int(pages)*snapPage < len(base.Memory) {
		// Memory only grows, and every interpreter starts as the base image.
		return nil, fmt.Errorf("%w: smaller than the base image", ErrBadSnapshot)
	}
	kinds := make([]byte, pages)
	if _, err := io.ReadFull(br, kinds); err != nil {
		return nil, ErrBadSnapshot
	}
	for i, k := range kinds { // checked before any memory is touched
		if k > maxKind {
			return nil, fmt.Errorf("%w: page kind %d", ErrBadSnapshot, k)
		}
		if (k == pageBase || k == pageDelta || k == pageBlocks) && (i+1)*snapPage > len(base.Memory) {
			return nil, fmt.Errorf("%w: page %d refers past the base image", ErrBadSnapshot, i)
		}
	}
	return &snapReader{raw: raw, br: br, kinds: kinds}, nil
}

// osPage is the granularity of copy-on-write: the kernel copies a page of the base image's
// mapping when it is first written.
const osPage = 4096

var zeroOSPage [osPage]byte

// size is the memory's size in bytes.
func (s *snapReader) size() int { return len(s.kinds) * snapPage }

// decodeInto writes the snapshot's pages into mem, which must hold the base image's pages
// over its range and zeros past it (a restored instance's memory, see
// [wasm.Host.RestoreChanges]): only the pages that differ are written. An error leaves mem
// in no particular state.
func (s *snapReader) decodeInto(mem []byte, base *wasm.Image) error {
	if len(mem) != s.size() {
		return fmt.Errorf("%w: memory of %d bytes for %d pages", ErrBadSnapshot, len(mem), len(s.kinds))
	}
	zr := flate.NewReader(s.br)
	delta := make([]byte, snapPage)
	for i, k := range s.kinds {
		p := mem[i*snapPage : (i+1)*snapPage]
		switch k {
		case pageZero:
			if (i+1)*snapPage <= len(base.Memory) {
				clear(p)
			}
		case pageData:
			if _, err := io.ReadFull(zr, p); err != nil {
				return fmt.Errorf("%w: page %d: %v", ErrBadSnapshot, i, err)
			}
		case pageBlocks:
			var m [2]byte
			if _, err := io.ReadFull(zr, m[:]); err != nil {
				return fmt.Errorf("%w: page %d: %v", ErrBadSnapshot, i, err)
			}
			mask := binary.LittleEndian.Uint16(m[:])
			for k := range snapPage / snapBlock {
				if mask&(1<<k) == 0 {
					continue
				}
				d := delta[:snapBlock]
				if _, err := io.ReadFull(zr, d); err != nil {
					return fmt.Errorf("%w: page %d: %v", ErrBadSnapshot, i, err)
				}
				b := p[k*snapBlock : (k+1)*snapBlock]
				subtle.XORBytes(b, b, d)
			}
		case pageDelta:
			if _, err := io.ReadFull(zr, delta); err != nil {
				return fmt.Errorf("%w: page %d: %v", ErrBadSnapshot, i, err)
			}
			// Only the OS pages that changed are written: the others stay shared with the
			// base image's file (mem maps it copy-on-write).
			for off := 0; off < snapPage; off += osPage {
				if d := delta[off : off+osPage]; !bytes.Equal(d, zeroOSPage[:]) {
					subtle.XORBytes(p[off:off+osPage], p[off:off+osPage], d)
				}
			}
		}
	}
	if n, err := zr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		return fmt.Errorf("%w: more data than its pages", ErrBadSnapshot)
	}
	var want uint32
	if binary.Read(s.raw, binary.LittleEndian, &want) != nil || want != s.br.sum {
		return fmt.Errorf("%w: checksum mismatch", ErrBadSnapshot)
	}
	return nil
}

// decodeSnapshot reads a snapshot from r back into an image of build, against base, in a
// memory of its own. It reads as it goes; what it allocates is bounded by maxMemory, whatever
// r holds.
func decodeSnapshot(r io.Reader, base *wasm.Image, build string, maxMemory int64) (*wasm.Image, error) {
	s, err := readSnapshot(r, base, build, maxMemory)
	if err != nil {
		return nil, err
	}
	mem := make([]byte, s.size())
	copy(mem, base.Memory)
	if err := s.decodeInto(mem, base); err != nil {
		return nil, err
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
// memory is written to w as the pages that differ from the base image, compressed, straight
// from the linear memory (a copy of a state of hundreds of megabytes would not fit the
// worker's address space).
func (ip *Interpreter) Freeze(ctx context.Context, w io.Writer) (bool, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	ip.gmu.Lock()
	g := ip.g
	ip.gmu.Unlock()
	if g == nil {
		return false, nil
	}
	if _, err := g.in.Call(ctx, []byte(`{"op":"freeze"}`), nil); err != nil {
		ip.drop(g)
		return false, fmt.Errorf("python: freeze: %w", err)
	}
	base, err := ip.engine.host.BaseImage(ctx)
	if err != nil {
		return false, err
	}
	err = g.in.ViewMemory(func(build string, mem []byte, hints wasm.Hints) error {
		return encodeSnapshot(w, mem, hints, build, base, ip.engine.snapshotCap)
	})
	if err != nil {
		return false, fmt.Errorf("python: freeze: %w", err)
	}
	return true, nil
}

// Thaw implements [runtime.Freezer]: a new guest is made from the snapshot and replaces the
// interpreter's; files the snapshot had open are closed and named in the notes.
func (ip *Interpreter) Thaw(ctx context.Context, r io.Reader) (string, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	e := ip.engine
	cr := &capReader{r: r, left: e.snapshotCap}
	if e.snapshotCap == 0 {
		cr.left = math.MaxInt64
	}
	base, err := e.host.BaseImage(ctx)
	if err != nil {
		return "", err
	}
	sr, err := readSnapshot(cr, base, e.host.BuildID(), e.host.MemoryLimit())
	if err == nil {
		// The pages the session left as they were stay mapped from the base image's file.
		var in *wasm.Instance
		var restored wasm.Restored
		in, restored, err = e.host.RestoreChanges(ctx, e.spec(), sr.size(), func(mem []byte) error { return sr.decodeInto(mem, base) })
		if err == nil {
			return ip.thawed(ctx, in, restored)
		}
	}
	switch {
	case cr.over:
		return "", ErrSnapshotTooLarge
	case errors.Is(err, ErrBadSnapshot) || errors.Is(err, ErrForeignSnapshot):
		return "", err
	default:
		return "", fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
}

// thawed makes in, restored from a snapshot, the interpreter's guest.
func (ip *Interpreter) thawed(ctx context.Context, in *wasm.Instance, restored wasm.Restored) (string, error) {
	e := ip.engine
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
