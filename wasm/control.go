package wasm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"sync"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// MaxMessage bounds one control message in either direction.
const MaxMessage = 32 << 20

// headerLen is the fixed size of a message header: ten decimal digits and a newline.
const headerLen = 11

// ErrProtocol reports a malformed message from the guest; the instance cannot be trusted after it.
var ErrProtocol = errors.New("wasm: control protocol violation")

// control is the private channel between host and driver: a file system with one file, ctl,
// that the driver opens once at start-up (later opens are refused). Reading ctl blocks until
// the host sends a message; writing it delivers messages to the host. A message is a ten-digit
// decimal length, a newline, and that many bytes.
//
// The channel carries no user output, so nothing user code prints can be taken for a message.
type control struct {
	experimentalsys.UnimplementedFS
	ctx    context.Context
	mu     sync.Mutex
	opened bool
	closed bool
	in     chan []byte // host -> guest
	out    chan []byte // guest -> host
	stop   chan struct{}
	once   sync.Once
	// pending is what the guest has not read yet of the current host message.
	pending []byte
	// partial is an incomplete message being written by the guest.
	partial []byte
	broken  error
	// rest is signalled each time the guest blocks waiting for a host message.
	rest chan struct{}
}

func newControl(ctx context.Context) *control {
	return &control{ctx: ctx, in: make(chan []byte, 1), out: make(chan []byte, 4), stop: make(chan struct{}), rest: make(chan struct{}, 1)}
}

func (c *control) close() { c.once.Do(func() { close(c.stop) }) }

func (c *control) send(msg []byte) error {
	if len(msg) > MaxMessage {
		return fmt.Errorf("wasm: message of %d bytes exceeds %d", len(msg), MaxMessage)
	}
	framed := make([]byte, 0, headerLen+len(msg))
	framed = fmt.Appendf(framed, "%010d\n", len(msg))
	framed = append(framed, msg...)
	// The guest is about to be busy: a rest it signalled before this message is stale.
	select {
	case <-c.rest:
	default:
	}
	select {
	case c.in <- framed:
		return nil
	case <-c.stop:
		return ErrExited
	}
}

func (c *control) recv(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.out:
		return m, nil
	default:
	}
	select {
	case m := <-c.out:
		return m, nil
	case <-c.stop:
		select {
		case m := <-c.out:
			return m, nil
		default:
		}
		c.mu.Lock()
		err := c.broken
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return nil, ErrExited
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// atRest waits until the guest blocks in a read of ctl with nothing pending.
func (c *control) atRest(ctx context.Context) error {
	select {
	case <-c.rest:
		return nil
	case <-c.stop:
		return ErrExited
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OpenFile implements experimentalsys.FS: only "ctl", only once.
func (c *control) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	switch path {
	case "", ".", "/":
		return &ctlDir{}, 0
	case "ctl", "/ctl":
	default:
		return nil, experimentalsys.ENOENT
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opened {
		return nil, experimentalsys.EACCES
	}
	c.opened = true
	return &ctlFile{c: c}, 0
}

// Stat implements experimentalsys.FS.
func (c *control) Stat(path string) (sys.Stat_t, experimentalsys.Errno) {
	switch path {
	case "", ".", "/":
		return sys.Stat_t{Mode: fs.ModeDir | 0o500, Nlink: 1}, 0
	case "ctl", "/ctl":
		return sys.Stat_t{Mode: 0o600, Nlink: 1}, 0
	}
	return sys.Stat_t{}, experimentalsys.ENOENT
}

// Lstat implements experimentalsys.FS.
func (c *control) Lstat(path string) (sys.Stat_t, experimentalsys.Errno) { return c.Stat(path) }

// ctlDir is an empty directory.
type ctlDir struct {
	experimentalsys.UnimplementedFile
}

func (*ctlDir) IsDir() (bool, experimentalsys.Errno) { return true, 0 }

func (*ctlDir) Stat() (sys.Stat_t, experimentalsys.Errno) {
	return sys.Stat_t{Mode: fs.ModeDir | 0o500, Nlink: 1}, 0
}
func (*ctlDir) Readdir(int) ([]experimentalsys.Dirent, experimentalsys.Errno) { return nil, 0 }
func (*ctlDir) Seek(int64, int) (int64, experimentalsys.Errno)                { return 0, 0 }

type ctlFile struct {
	experimentalsys.UnimplementedFile
	c *control
}

func (f *ctlFile) Stat() (sys.Stat_t, experimentalsys.Errno) {
	return sys.Stat_t{Mode: 0o600, Nlink: 1}, 0
}

func (f *ctlFile) IsDir() (bool, experimentalsys.Errno) { return false, 0 }

// Read blocks until the host sends a message; it returns 0 (EOF) once the instance is closing.
func (f *ctlFile) Read(buf []byte) (int, experimentalsys.Errno) {
	c := f.c
	if len(c.pending) == 0 {
		select {
		case m := <-c.in:
			c.pending = m
			n := copy(buf, c.pending)
			c.pending = c.pending[n:]
			return n, 0
		default:
		}
		select {
		case c.rest <- struct{}{}:
		default:
		}
		select {
		case m := <-c.in:
			c.pending = m
		case <-c.stop:
			return 0, 0
		case <-c.ctx.Done():
			return 0, 0
		}
	}
	n := copy(buf, c.pending)
	c.pending = c.pending[n:]
	return n, 0
}

// Write collects the guest's messages; a malformed one breaks the channel for good.
func (f *ctlFile) Write(buf []byte) (int, experimentalsys.Errno) {
	c := f.c
	c.partial = append(c.partial, buf...)
	for len(c.partial) >= headerLen {
		if c.partial[headerLen-1] != '\n' {
			return 0, c.fail("bad header")
		}
		n, err := strconv.Atoi(string(c.partial[:headerLen-1]))
		if err != nil || n < 0 || n > MaxMessage {
			return 0, c.fail("bad length")
		}
		if len(c.partial) < headerLen+n {
			if len(c.partial) > headerLen+MaxMessage {
				return 0, c.fail("oversized")
			}
			break
		}
		msg := make([]byte, n)
		copy(msg, c.partial[headerLen:headerLen+n])
		c.partial = c.partial[headerLen+n:]
		select {
		case c.out <- msg:
		case <-c.stop:
			return 0, experimentalsys.EBADF
		default:
			// Nobody is reading this many messages: the guest is sending more than it was asked.
			return 0, c.fail("unsolicited messages")
		}
	}
	return len(buf), 0
}

func (c *control) fail(why string) experimentalsys.Errno {
	c.mu.Lock()
	if c.broken == nil {
		c.broken = fmt.Errorf("%w: %s", ErrProtocol, why)
	}
	c.mu.Unlock()
	c.close()
	return experimentalsys.EIO
}

func (f *ctlFile) Close() experimentalsys.Errno { return 0 }
