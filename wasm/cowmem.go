package wasm

import (
	"os"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// cowMemory is a linear memory that starts as a private (copy-on-write) mapping of the base
// image file: a new instance costs one mmap instead of a copy of the image, and the pages it
// never writes stay shared with every other instance and process mapping the same file.
//
// It reserves the image's size; growing past it moves the memory to an anonymous mapping (the
// memory is not shared between threads, so its address may change).
type cowMemory struct {
	buf  []byte // the whole mapping; len is the reservation
	size uint64 // bytes in use
	max  uint64 // the most the module may ever ask for
	// discard: the next growth need not keep the contents (they are about to be replaced
	// whole, see [Host.RestoreChanges]); the new pages are zeros.
	discard bool
}

// cowAllocator makes the memory of one instance.
type cowAllocator struct {
	mem *cowMemory
}

func (a *cowAllocator) Allocate(cap, max uint64) experimental.LinearMemory {
	a.mem = &cowMemory{max: max}
	return a.mem
}

// Reallocate implements experimental.LinearMemory.
func (m *cowMemory) Reallocate(size uint64) []byte {
	if size <= uint64(len(m.buf)) {
		m.size = size
		return m.buf[:size]
	}
	// Grow: a new anonymous mapping, with the old contents (at least doubled, in pages, but
	// never past the module's maximum: the address space is limited too).
	n := max(size, min(2*uint64(len(m.buf)), m.max))
	n = (n + pageSize - 1) / pageSize * pageSize
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	if !m.discard {
		copy(b, m.buf[:m.size])
	}
	m.discard = false
	if m.buf != nil {
		unix.Munmap(m.buf)
	}
	m.buf, m.size = b, size
	return m.buf[:size]
}

// Free implements experimental.LinearMemory.
func (m *cowMemory) Free() {
	if m.buf != nil {
		unix.Munmap(m.buf)
		m.buf = nil
	}
}

// mapImage replaces the first n bytes of the memory with a private mapping of f at off. The
// memory must be at least n bytes long already.
func (m *cowMemory) mapImage(f *os.File, off int64, n int) error {
	if n > len(m.buf) || n%pageSize != 0 {
		return os.ErrInvalid
	}
	_, err := unix.MmapPtr(int(f.Fd()), off, unsafe.Pointer(&m.buf[0]), uintptr(n),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
	return err
}
