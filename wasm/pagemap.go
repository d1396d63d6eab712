package wasm

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Which pages of a linear memory the guest may have changed, from the kernel's page table
// (/proc/self/pagemap): a page of the base image's copy-on-write mapping that has no private
// copy still holds the image's bytes, and a page of the anonymous part that was never touched
// holds zeros. A snapshot reads and compares only the other pages; reading every page and the
// image's (two passes over 70 MB) is what a snapshot of a small session cost, 15 ms, bound by
// memory bandwidth.

var pagemap struct {
	once sync.Once
	f    *os.File
}

// OpenPagemap opens /proc/self/pagemap for the process's later snapshots. A worker calls it
// before it is confined (its root then has no /proc); where it fails, snapshots compare every
// page, as they would anyway.
func OpenPagemap() {
	pagemap.once.Do(func() {
		f, err := os.Open("/proc/self/pagemap")
		if err != nil {
			return
		}
		if err := checkPagemap(f); err != nil {
			f.Close()
			return
		}
		pagemap.f = f
	})
}

// pagemapSink keeps checkPagemap's read of a page from being left out by the compiler.
var pagemapSink byte

// checkPagemap makes sure the page table is reported as the hints need it (a kernel or a
// sandbox that left the flags out would make written pages look unwritten): a page of a private
// mapping of a file is the file's once read and no longer once written, and of two anonymous
// pages, the one written is present and the other not.
func checkPagemap(f *os.File) error {
	ps := os.Getpagesize()
	entry := func(b []byte, i int) (uint64, error) {
		var e [8]byte
		_, err := f.ReadAt(e[:], int64(uintptr(unsafe.Pointer(&b[i*ps]))/uintptr(ps))*8)
		return binary.LittleEndian.Uint64(e[:]), err
	}
	anon, err := unix.Mmap(-1, 0, 2*ps, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return err
	}
	defer unix.Munmap(anon)
	anon[0] = 1
	written, err1 := entry(anon, 0)
	untouched, err2 := entry(anon, 1)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if written&pmPresent == 0 || written&pmFile != 0 || untouched&(pmPresent|pmSwapped) != 0 {
		return errors.New("wasm: the page table does not tell written anonymous pages")
	}
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer exe.Close()
	file, err := unix.Mmap(int(exe.Fd()), 0, ps, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	defer unix.Munmap(file)
	pagemapSink = file[0] // read: the file's page
	read, err := entry(file, 0)
	if err != nil {
		return err
	}
	file[0] ^= 1 // written: a private copy
	copied, err := entry(file, 0)
	if err != nil {
		return err
	}
	if read&pmPresent == 0 || read&pmFile == 0 || copied&pmPresent == 0 || copied&pmFile != 0 {
		return errors.New("wasm: the page table does not tell a file's pages from private copies")
	}
	return nil
}

// Hints say, per 64 KiB page of a linear memory, what is known of it without reading it (see
// [Instance.ViewMemory]).
type Hints struct {
	Kind []byte // HintRead, HintBase or HintZero
	// Blocks has, for each page of kind HintRead, a bit per 4 KiB block that may differ from the
	// base image (bit i: bytes i*4096 on); the others are the image's file, never written.
	Blocks []uint16
}

// Page kinds of [Hints].
const (
	HintRead byte = iota // it may differ from the base image and from zeros: read it
	HintBase             // as the base image: mapped from its file and never written
	HintZero             // zeros: anonymous and never touched
)

// Bits of a pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent = 1 << 63
	pmSwapped = 1 << 62
	pmFile    = 1 << 61 // a page of a file (or shared anonymous): not a private copy
)

// hints returns what the page table says of the memory in use; empty when it cannot be read.
func (m *cowMemory) hints() Hints {
	OpenPagemap()
	ps := os.Getpagesize()
	if pagemap.f == nil || len(m.buf) == 0 || m.size%pageSize != 0 || ps < 4096 || pageSize%ps != 0 {
		return Hints{}
	}
	per := pageSize / ps               // OS pages per wasm page
	blocks := uint16(1)<<(ps/4096) - 1 // the blocks of one OS page
	if ps/4096 >= 16 {
		blocks = 0xffff
	}
	h := Hints{Kind: make([]byte, m.size/pageSize), Blocks: make([]uint16, m.size/pageSize)}
	first := uintptr(unsafe.Pointer(&m.buf[0])) / uintptr(ps)
	const batch = 64 // wasm pages per read
	buf := make([]byte, 8*per*batch)
	for p := 0; p < len(h.Kind); p += batch {
		n := min(batch, len(h.Kind)-p)
		b := buf[:8*per*n]
		if _, err := pagemap.f.ReadAt(b, int64(first+uintptr(p*per))*8); err != nil {
			return Hints{}
		}
		for i := range n {
			inFile := (p+i+1)*pageSize <= m.mapped
			var read uint16
			for j := range per {
				e := binary.LittleEndian.Uint64(b[8*(i*per+j):])
				if e&pmSwapped != 0 || e&pmPresent != 0 && !(inFile && e&pmFile != 0) {
					read |= blocks << (j * (ps / 4096))
				}
			}
			switch {
			case read != 0:
				h.Kind[p+i], h.Blocks[p+i] = HintRead, read
			case inFile:
				h.Kind[p+i] = HintBase
			default:
				h.Kind[p+i] = HintZero
			}
		}
	}
	return h
}
