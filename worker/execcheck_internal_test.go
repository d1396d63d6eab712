package worker

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestExecCheck_probe: on this machine the probe's program runs through the check (the
// listener, pidfd_getfd, reading its memory and the answer all work), and starts with the
// process limit the guard set, which it would not have otherwise.
func TestExecCheck_probe(t *testing.T) {
	bin, _ := filepath.Abs("../bin/wasmbox")
	if err := probeExecCheck(bin); err != nil {
		t.Fatal(err)
	}
	if n, err := runExecProbe(bin, 0); err != nil || n == 4093 {
		t.Errorf("without a limit to set, the program found RLIMIT_NPROC %d (%v)", n, err)
	}
}

// TestExecGuard_decide: the paths an allowlisted program may execute, however they are
// written, and the answers for the rest.
func TestExecGuard_decide(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog")
	os.WriteFile(prog, []byte("#!/bin/false\n"), 0o755)
	os.Symlink(prog, filepath.Join(dir, "link"))
	os.WriteFile(filepath.Join(dir, "other"), nil, 0o755)
	os.Symlink("/proc/self/cwd", filepath.Join(dir, "cwd"))
	os.Symlink("/dev", filepath.Join(dir, "devlink"))
	g := &execGuard{allowed: canonical([]string{prog})}
	cwd, _ := os.Getwd()
	rel, _ := filepath.Rel(cwd, prog)
	for _, c := range []struct {
		path string
		want unix.Errno
	}{
		{prog, 0},
		{filepath.Join(dir, "link"), 0},
		{dir + "/./x/../prog", 0},
		{rel, 0}, // relative to the process's working directory
		{filepath.Join(dir, "other"), unix.EACCES},
		{filepath.Join(dir, "missing"), unix.ENOENT},
		{filepath.Join(dir, "other", "x"), unix.ENOTDIR},
		{"/proc/self/root" + prog, unix.EACCES},
		{"/proc/" + strconv.Itoa(os.Getpid()) + "/exe", unix.EACCES},
		{"/dev/fd/../../.." + prog, 0}, // cleaned first: /prog...
		{"/dev/stdin", unix.EACCES},
		{filepath.Join(dir, "cwd") + prog, unix.EACCES}, // through /proc by a link
		{filepath.Join(dir, "devlink", "fd", "0"), unix.EACCES},
		{filepath.Join(dir, "link", "x"), unix.ENOTDIR},
		{"", unix.ENOENT},
	} {
		if got := g.decide(os.Getpid(), c.path); got != c.want {
			t.Errorf("decide(%q) = %v, want %v", c.path, got, c.want)
		}
	}
}

// TestReadString: strings read from another process's memory, across a page boundary and up
// to an unmapped page.
func TestReadString(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, 3*4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	unix.Mprotect(mem[2*4096:], unix.PROT_NONE)
	base := uintptr(unsafe.Pointer(&mem[0]))
	copy(mem[4090:], "/usr/bin/thing\x00") // across the first two pages
	if s, err := readString(os.Getpid(), base+4090, unix.PathMax); err != nil || s != "/usr/bin/thing" {
		t.Errorf("got %q %v", s, err)
	}
	copy(mem[2*4096-7:], "/bin/x\x00") // its NUL is the last byte before the unmapped page
	if s, err := readString(os.Getpid(), base+2*4096-7, unix.PathMax); err != nil || s != "/bin/x" {
		t.Errorf("got %q %v", s, err)
	}
	copy(mem[2*4096-6:], "abcdef")
	if _, err := readString(os.Getpid(), base+2*4096-6, unix.PathMax); err == nil {
		t.Error("a string running into an unmapped page was read")
	}
	copy(mem[0:], strings.Repeat("a", 4096))
	if _, err := readString(os.Getpid(), base, 100); err == nil {
		t.Error("a string longer than the bound was read")
	}
	if _, err := readString(os.Getpid(), 0, 100); err == nil {
		t.Error("NULL was read")
	}
}

// TestExecGuard_fork: forks are let through below the bound and refused at it; at the bound
// the guard refuses for a while without walking the tree again, then counts anew.
func TestExecGuard_fork(t *testing.T) {
	var kids []*os.Process
	for range 3 {
		p, err := os.StartProcess("/bin/sleep", []string{"sleep", "30"}, &os.ProcAttr{})
		if err != nil {
			t.Skip(err)
		}
		kids = append(kids, p)
	}
	defer func() {
		for _, p := range kids {
			p.Kill()
			p.Wait()
		}
	}()
	g := &execGuard{root: os.Getpid(), limits: programLimits{processes: 3}}
	if errno := g.fork(); errno != unix.EAGAIN {
		t.Fatalf("at the bound (3 children): %v, want EAGAIN", errno)
	}
	walked := g.countedAt
	for range 100 {
		g.fork()
	}
	if g.countedAt != walked || g.forksRefused != 101 {
		t.Errorf("refused forks walked the tree again (%v) or were not counted (%d)", g.countedAt != walked, g.forksRefused)
	}
	for _, p := range kids {
		p.Kill()
		p.Wait()
	}
	kids = nil
	time.Sleep(refuseFor + recount)
	if errno := g.fork(); errno != 0 {
		t.Errorf("below the bound again: %v", errno)
	}
}

// TestExecGuard_chmodIn: the guard changes modes only beneath the workspace, however the path
// is written (absolute, relative to the working directory or to a dirfd, through .., through a
// symbolic link, the dirfd itself), and never sets setuid, setgid or sticky bits.
func TestExecGuard_chmodIn(t *testing.T) {
	root := t.TempDir()
	ws, outside := filepath.Join(root, "ws"), filepath.Join(root, "outside")
	for _, d := range []string{ws, filepath.Join(ws, "sub"), outside} {
		os.Mkdir(d, 0o755)
	}
	for _, f := range []string{filepath.Join(ws, "f"), filepath.Join(ws, "sub", "g"), filepath.Join(outside, "secret")} {
		os.WriteFile(f, nil, 0o644)
	}
	os.Symlink(outside, filepath.Join(ws, "link")) // as a host's own file might be; guests make none
	wsfd, err := unix.Open(ws, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := &execGuard{workspace: ws, wsfd: wsfd}
	defer unix.Close(wsfd)
	open := func(p string, flags int) int {
		fd, err := unix.Open(p, flags|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	subfd, outfd, filefd := open(filepath.Join(ws, "sub"), unix.O_RDONLY|unix.O_DIRECTORY), open(outside, unix.O_RDONLY|unix.O_DIRECTORY), open(filepath.Join(ws, "f"), unix.O_RDONLY)
	pid := os.Getpid()
	cwd, _ := os.Getwd()
	relOut, _ := filepath.Rel(cwd, filepath.Join(outside, "secret"))
	relIn, _ := filepath.Rel(cwd, filepath.Join(ws, "f"))
	for _, c := range []struct {
		name  string
		dirfd int
		path  string
		mode  uint32
		flags uint64
		want  unix.Errno
		file  string // whose mode must then be want's
		perm  os.FileMode
	}{
		{"absolute, in the workspace", unix.AT_FDCWD, filepath.Join(ws, "f"), 0o600, 0, 0, "ws/f", 0o600},
		{"setuid and sticky bits dropped", unix.AT_FDCWD, filepath.Join(ws, "f"), 0o7755, 0, 0, "ws/f", 0o755},
		{"the workspace itself", unix.AT_FDCWD, ws, 0o750, 0, 0, "ws", 0o750},
		// A program's working directory is in its workspace; from one outside, even a path
		// that comes back in is refused.
		{"relative to a working directory outside", unix.AT_FDCWD, relIn, 0o640, 0, unix.EPERM, "ws/f", 0o755},
		{"relative to a dirfd", subfd, "g", 0o600, 0, 0, "ws/sub/g", 0o600},
		{"relative to a dirfd, through ..", subfd, "../f", 0o640, 0, 0, "ws/f", 0o640},
		{"the dirfd itself", filefd, "", 0o604, unix.AT_EMPTY_PATH, 0, "ws/f", 0o604},
		{"absolute, outside", unix.AT_FDCWD, filepath.Join(outside, "secret"), 0, 0, unix.EPERM, "outside/secret", 0o644},
		{"through ..", unix.AT_FDCWD, filepath.Join(ws, "sub", "..", "..", "outside", "secret"), 0, 0, unix.EPERM, "outside/secret", 0o644},
		{"relative, outside", unix.AT_FDCWD, relOut, 0, 0, unix.EPERM, "outside/secret", 0o644},
		{"a dirfd outside", outfd, "secret", 0, 0, unix.EPERM, "outside/secret", 0o644},
		{"a dirfd in, .. out", subfd, "../../outside/secret", 0, 0, unix.EPERM, "outside/secret", 0o644},
		{"through a symbolic link", unix.AT_FDCWD, filepath.Join(ws, "link", "secret"), 0, 0, unix.EPERM, "outside/secret", 0o644},
		{"missing", unix.AT_FDCWD, filepath.Join(ws, "nope"), 0o600, 0, unix.ENOENT, "", 0},
		{"empty path without AT_EMPTY_PATH", subfd, "", 0o600, 0, unix.ENOENT, "", 0},
		{"unknown flags", unix.AT_FDCWD, filepath.Join(ws, "f"), 0o600, 0x8000, unix.EPERM, "ws/f", 0o604},
		{"unclean, out through ..", unix.AT_FDCWD, ws + "/sub/../../outside/secret", 0, 0, unix.EPERM, "outside/secret", 0o644},
		{"unclean, in through ..", unix.AT_FDCWD, ws + "//sub/./../f", 0o606, 0, 0, "ws/f", 0o606},
		{"a prefix of the workspace's name", unix.AT_FDCWD, ws + "2/f", 0, 0, unix.EPERM, "", 0},
		{"a file as a directory (f/.)", unix.AT_FDCWD, ws + "/f/.", 0o600, 0, unix.ENOTDIR, "ws/f", 0o606},
		{"through a missing directory", unix.AT_FDCWD, ws + "/missing/../f", 0o600, 0, unix.ENOENT, "ws/f", 0o606},
		{"relative to a file dirfd", filefd, "x", 0o600, 0, unix.ENOTDIR, "ws/f", 0o606},
		{"the link itself (AT_SYMLINK_NOFOLLOW)", unix.AT_FDCWD, ws + "/link", 0o600, unix.AT_SYMLINK_NOFOLLOW, unix.EOPNOTSUPP, "outside", 0o755},
	} {
		if got := g.chmodIn(pid, c.dirfd, c.path, c.mode, c.flags); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if c.file != "" {
			if fi, err := os.Stat(filepath.Join(root, c.file)); err != nil || fi.Mode().Perm() != c.perm || fi.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 {
				t.Errorf("%s: %s has mode %v (%v), want %v", c.name, c.file, fi.Mode(), err, c.perm)
			}
		}
	}
	if g := (&execGuard{wsfd: -1}); g.chmodIn(pid, unix.AT_FDCWD, filepath.Join(ws, "f"), 0o600, 0) != unix.EPERM {
		t.Error("a guard without a workspace carried out a chmod")
	}
}

// TestChmodArgs: each notified call's arguments, as the kernel reads them.
func TestChmodArgs(t *testing.T) {
	const path = 0x7000
	atFDCWD := int32(unix.AT_FDCWD)
	neg := uint64(0xdeadbeef00000000) | uint64(uint32(atFDCWD)) // an int's upper half is not its
	for _, c := range []struct {
		nr    int32
		args  [6]uint64
		dirfd int
		mode  uint32
		flags uint64
	}{
		{unix.SYS_FCHMODAT, [6]uint64{5, path, 0o640}, 5, 0o640, 0},
		{unix.SYS_FCHMODAT, [6]uint64{neg, path, 0o640}, unix.AT_FDCWD, 0o640, 0},
		{unix.SYS_FCHMODAT2, [6]uint64{7, path, 0o600, unix.AT_SYMLINK_NOFOLLOW}, 7, 0o600, unix.AT_SYMLINK_NOFOLLOW},
	} {
		d, p, m, f := chmodArgs(c.nr, c.args)
		if d != c.dirfd || p != path || m != c.mode || f != c.flags {
			t.Errorf("nr %d %v: got (%d, %#x, %o, %#x)", c.nr, c.args, d, p, m, f)
		}
	}
	if chmodCalls[0] != unix.SYS_FCHMODAT { // amd64: chmod(path, mode) first
		if d, p, m, f := chmodArgs(int32(chmodCalls[0]), [6]uint64{path, 0o644}); d != unix.AT_FDCWD || p != path || m != 0o644 || f != 0 {
			t.Errorf("chmod: got (%d, %#x, %o, %#x)", d, p, m, f)
		}
	}
}
