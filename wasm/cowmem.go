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
	// mapped is how many bytes from the start are a private mapping of the base image's file
	// (0 once the memory moved to an anonymous mapping).
	mapped int
	file   *os.File // the image's file and the offset of its memory, once mapped
	off    int64
	max    uint64 // the most the module may ever ask for
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
	// never past the module's maximum: the address space is limited too). The image's file is
	// mapped again at its start and only the pages the guest wrote are copied, so the pages it
	// never wrote stay shared, and snapshots still skip them.
	n := max(size, min(2*uint64(len(m.buf)), m.max))
	n = (n + pageSize - 1) / pageSize * pageSize
	var hints Hints
	if !m.discard && m.file != nil && m.mapped > 0 {
		hints = m.hints()
	}
	b, keep, err := m.mapGrown(int(n), hints.Kind != nil)
	if err != nil {
		return nil
	}
	if !m.discard {
		if keep == 0 {
			copy(b, m.buf[:m.size])
		} else {
			for i, h := range hints.Kind {
				if h == HintRead {
					copy(b[i*pageSize:(i+1)*pageSize], m.buf[i*pageSize:(i+1)*pageSize])
				}
			}
		}
	}
	m.discard = false
	if m.buf != nil {
		unix.Munmap(m.buf)
	}
	m.buf, m.size, m.mapped = b, size, keep
	return m.buf[:size]
}

// mapGrown makes a memory of n bytes: anonymous, and with remap the image's file mapped again
// over its start (keep is how many bytes; 0 when that failed: then the memory is all
// anonymous and the caller copies everything).
func (m *cowMemory) mapGrown(n int, remap bool) (b []byte, keep int, err error) {
	b, err = unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil || !remap || m.mapped > n {
		return b, 0, err
	}
	_, err = unix.MmapPtr(int(m.file.Fd()), m.off, unsafe.Pointer(&b[0]), uintptr(m.mapped),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
	if err == nil {
		return b, m.mapped, nil
	}
	// A failed MAP_FIXED may leave the range unmapped: start again without the file.
	unix.Munmap(b)
	b, err = unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	return b, 0, err
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
	if err == nil {
		m.mapped, m.file, m.off = n, f, off
	}
	return err
}
