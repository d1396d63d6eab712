package worker

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"wasmbox/internal/spawn"
)

// The exec check closes the one way past the allowlist that Landlock leaves on a host without
// namespaces: Landlock lets the dynamic loader execute (every program needs it as its
// interpreter), and the loader maps any file it can read, an uploaded one included, as a
// program: `printf '%s\0' /lib64/ld-linux-x86-64.so.2 ./evil | xargs -0 xargs`. Where there is
// a mount namespace the workspace is mounted noexec and the loader cannot map it.
//
// The worker adds, on its spawning thread (so to every program and nothing else), a seccomp
// filter that hands each execve to a listener. The supervisor takes the listener out of the
// worker (pidfd_getfd) and answers: the call goes on only when its path is one of the
// allowlisted programs; the loader itself and every other file fail with EACCES. The worker
// cannot answer: its threads hold sibling Landlock domains, and a domain may read the memory
// of its own and nested domains only. The server is outside Landlock and an ancestor of every
// program. execveat, the other way to execute, is refused to programs by the worker's syscall
// allowlist.
//
// The check reads the path from the program's memory and the kernel reads it again when the
// call goes on. Between the two only the program's own threads could change it, and the only
// programs that call execve are allowlisted ones (find, xargs, tar), with arguments a guest
// chose but no code of its own. A path that means something else to the program than to the
// server (through /proc/self or /dev/fd) is refused.

// execCheckActive is what [Supervisor.Layers] says of an active exec check.
const execCheckActive = "active (every program's execve waits for the server, which lets only the allowlisted programs run: the dynamic loader and uploaded files are refused; a chmod by path is carried out by the server, in the workspace only)"

// seccompNotif is struct seccomp_notif.
type seccompNotif struct {
	id    uint64
	pid   uint32
	flags uint32
	nr    int32
	arch  uint32
	ip    uint64
	args  [6]uint64
}

// seccompNotifResp is struct seccomp_notif_resp.
type seccompNotifResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

// loadExecListener adds, on the calling thread only, a filter that sends to a listener every
// execve (with execs), every fork (with forks: fork, vfork, clone without CLONE_THREAD;
// threads go on unasked), every chmod by path (with modes: see [execGuard.chmod]) or any of
// them, and returns the listener's descriptor (close-on-exec: programs never hold it). clone3
// is answered ENOSYS by the ABI filter, so libc forks with clone. Forks are sent only where the
// server counts them (see boundProcesses): each costs a round trip.
func loadExecListener(execs, forks, modes bool) (int, error) {
	prog := listenerProgram(execs, forks, modes)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, errno := syscall.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER,
		uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return -1, fmt.Errorf("load the exec listener: %w", errno)
	}
	return int(fd), nil
}

// listenerProgram is the listener's BPF program: native syscalls named by execs, forks and
// modes are notified, everything else allowed (the worker's other filters decide it).
func listenerProgram(execs, forks, modes bool) []unix.SockFilter {
	const (
		ldW    = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset   = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret    = unix.BPF_RET | unix.BPF_K
		notify = -1 // jump targets, resolved at the end
		allow  = -2
	)
	var notified []uint32
	if execs {
		notified = append(notified, unix.SYS_EXECVE)
	}
	if modes {
		notified = append(notified, chmodCalls...)
	}
	if forks {
		notified = append(notified, sysFork, sysVfork)
	}
	type insn struct {
		code   uint16
		k      uint32
		jt, jf int // absolute targets, or notify/allow; 0: the next instruction
	}
	prog := []insn{
		{code: ldW, k: 4}, // arch: a foreign ABI is killed by the ABI filter
		{code: jeq, k: nativeAudit, jf: allow},
		{code: ldW, k: 0}, // nr
	}
	for _, nr := range notified {
		prog = append(prog, insn{code: jeq, k: nr, jt: notify})
	}
	if forks {
		prog = append(prog, insn{code: jeq, k: unix.SYS_CLONE, jf: allow},
			insn{code: ldW, k: 16}, // clone's flags, their low half
			insn{code: jset, k: unix.CLONE_THREAD, jt: allow, jf: notify})
	}
	prog = append(prog, insn{code: ret, k: unix.SECCOMP_RET_ALLOW})
	at := map[int]int{allow: len(prog) - 1, notify: len(prog)}
	prog = append(prog, insn{code: ret, k: unix.SECCOMP_RET_USER_NOTIF})
	out := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		jump := func(target int) uint8 {
			if target == 0 {
				return 0
			}
			return uint8(at[target] - i - 1)
		}
		out[i] = unix.SockFilter{Code: in.code, K: in.k, Jt: jump(in.jt), Jf: jump(in.jf)}
	}
	return out
}

// execListener is the worker's listener descriptor once confine made one (-1: none).
var execListener = -1

// execGuard answers one worker's (or the probe's) exec notifications.
type execGuard struct {
	f       *os.File
	root    int // the worker (or the probe): programs are its descendants
	allowed map[string]bool
	limits  programLimits
	log     *slog.Logger
	once    sync.Once
	done    chan struct{}
	// workspace is the worker's workspace (host path) and wsfd an O_PATH descriptor of it, in
	// which the guard carries out its programs' chmod calls (-1: none, they fail).
	workspace string
	wsfd      int

	// The programs counted at the last walk of the tree, when, how long the walk took, the
	// forks let through since, and until when forks are refused without counting.
	counted     int
	countedAt   time.Time
	walk        time.Duration
	forked      int
	refuseUntil time.Time

	mu              sync.Mutex
	allowedN, denyN int
	forksRefused    int
}

// programLimits are what the guard holds a worker's programs to.
type programLimits struct {
	// nproc is the RLIMIT_NPROC set on each program before its execve goes on (0: none): set
	// there, no program runs a single instruction without it (the worker can set it only once
	// the program has started).
	nproc uint64
	// processes bounds the processes of the worker's programs, counted at each fork they make
	// (0: not counted; a pids cgroup or a user namespace bounds them instead).
	processes int
}

// takeExecListener copies the listener descriptor fd out of process pid and starts answering
// it. allowed are the programs' canonical paths; workspace, where not empty, is the worker's
// workspace, in which its programs may chmod.
func takeExecListener(pid, fd int, allowed map[string]bool, limits programLimits, workspace string, log *slog.Logger) (*execGuard, error) {
	wsfd := -1
	if workspace != "" {
		// The path programs' /proc links show: absolute, no symbolic link in it.
		abs, err := filepath.Abs(workspace)
		if err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
		if wsfd, err = unix.Open(real, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
		workspace = real
	}
	g, err := takeListener(pid, fd, allowed, limits, log)
	if err != nil {
		if wsfd >= 0 {
			unix.Close(wsfd)
		}
		return nil, err
	}
	g.workspace, g.wsfd = workspace, wsfd
	go g.serve()
	return g, nil
}

func takeListener(pid, fd int, allowed map[string]bool, limits programLimits, log *slog.Logger) (*execGuard, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(pidfd)
	nfd, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_getfd: %w", err)
	}
	// Non-blocking, so that the runtime's poller waits for notifications (no thread is held).
	// The flag is on the open file, which the worker shares; it never reads from it.
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("listener: %w", err)
	}
	return &execGuard{f: os.NewFile(uintptr(nfd), "exec-listener"), root: pid, allowed: allowed, limits: limits, log: log,
		done: make(chan struct{}), wsfd: -1}, nil
}

// close stops answering; pending and later execs and forks of the worker's programs then
// fail (ENOSYS: the worker closed its own copy of the listener once the supervisor had it).
func (g *execGuard) close() {
	if g == nil {
		return
	}
	g.once.Do(func() { g.f.Close() })
	<-g.done
}

func (g *execGuard) counts() (allowed, denied int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.allowedN, g.denyN
}

// serve answers notifications until every program and the worker are gone (the listener
// hangs up) or close.
func (g *execGuard) serve() {
	defer close(g.done)
	defer g.once.Do(func() { g.f.Close() })
	defer func() {
		if g.wsfd >= 0 {
			unix.Close(g.wsfd)
		}
	}()
	rc, err := g.f.SyscallConn()
	if err != nil {
		return
	}
	for {
		var n seccompNotif
		got, gone := false, false
		err := rc.Read(func(fd uintptr) bool {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			k, err := unix.Poll(pfd, 0)
			if err != nil || k == 0 {
				return false
			}
			if pfd[0].Revents&unix.POLLIN == 0 {
				gone = pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
				return gone
			}
			n = seccompNotif{}
			_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n)))
			// ENOENT: the program died before it was heard.
			got = errno == 0
			return true
		})
		if err != nil || gone {
			return
		}
		if got {
			g.answer(&n)
		}
	}
}

// answer decides one execve, chmod or fork and replies.
func (g *execGuard) answer(n *seccompNotif) {
	if slices.Contains(chmodCalls, uint32(n.nr)) {
		g.chmod(n)
		return
	}
	if n.nr != unix.SYS_EXECVE {
		g.reply(n.id, g.fork())
		return
	}
	path, err := readString(int(n.pid), uintptr(n.args[0]), unix.PathMax)
	var errno unix.Errno
	switch {
	case err != nil:
		errno = unix.EFAULT
	case !g.valid(n.id):
		return // the program is gone; its pid may be another process's now
	default:
		errno = g.decide(int(n.pid), path)
	}
	if errno == 0 && g.limits.nproc > 0 {
		// The pid is the program's while its notification is pending (valid said so).
		unix.Prlimit(int(n.pid), unix.RLIMIT_NPROC, &unix.Rlimit{Cur: g.limits.nproc, Max: g.limits.nproc}, nil)
	}
	g.mu.Lock()
	if errno == 0 {
		g.allowedN++
	} else if errno == unix.EACCES {
		g.denyN++
	}
	g.mu.Unlock()
	if errno == unix.EACCES && g.log != nil {
		g.log.Debug("a program's execve was refused", "path", path)
	}
	g.reply(n.id, errno)
}

// fork decides a fork (a clone without CLONE_THREAD) of a program or of the worker's thread
// that starts them: EAGAIN, as RLIMIT_NPROC answers, when the programs hold their bound.
func (g *execGuard) fork() unix.Errno {
	if g.limits.processes <= 0 {
		return 0
	}
	// A walk of the tree costs some microseconds a process: a program that forks in a loop
	// must not make the server walk for each try. A count is reused for a while (longer when
	// walks are slow), with the forks let through since added; at the bound, forks are refused
	// for a while without another walk.
	now := time.Now()
	if now.Before(g.refuseUntil) {
		return g.refuse()
	}
	if now.Sub(g.countedAt) > max(recount, 20*g.walk) {
		g.counted = descendants(g.root, 2*g.limits.processes)
		g.countedAt = time.Now()
		g.walk, g.forked = g.countedAt.Sub(now), 0
	}
	if g.counted+g.forked >= g.limits.processes {
		g.refuseUntil = now.Add(refuseFor)
		return g.refuse()
	}
	g.forked++
	return 0
}

func (g *execGuard) refuse() unix.Errno {
	g.mu.Lock()
	g.forksRefused++
	g.mu.Unlock()
	return unix.EAGAIN
}

// recount is the shortest time the guard reuses a count of a worker's programs; refuseFor is
// how long it refuses forks without counting again once they reached their bound.
const (
	recount   = 20 * time.Millisecond
	refuseFor = 100 * time.Millisecond
)

// descendants counts the processes below pid (its children, theirs, ...), at most max.
func descendants(pid, max int) int {
	n := 0
	queue := []int{pid}
	for len(queue) > 0 && n < max {
		p := strconv.Itoa(queue[0])
		queue = queue[1:]
		tasks, _ := os.ReadDir("/proc/" + p + "/task")
		for _, t := range tasks {
			b, _ := os.ReadFile("/proc/" + p + "/task/" + t.Name() + "/children")
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					n++
					queue = append(queue, c)
				}
			}
		}
	}
	return n
}

// reply answers notification id: go on (errno 0) or fail with errno.
func (g *execGuard) reply(id uint64, errno unix.Errno) {
	resp := seccompNotifResp{id: id}
	if errno == 0 {
		resp.flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	} else {
		resp.error = -int32(errno)
	}
	g.send(&resp)
}

// replyValue answers notification id with errno, or with 0 as the call's result: the call
// itself never runs.
func (g *execGuard) replyValue(id uint64, errno unix.Errno) {
	g.send(&seccompNotifResp{id: id, error: -int32(errno)})
}

func (g *execGuard) send(resp *seccompNotifResp) {
	rc, err := g.f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.Syscall(unix.SYS_IOCTL, fd, unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(resp)))
	})
}

// chmod carries out a program's chmod, fchmodat or fchmodat2 itself, where the file is in the
// workspace, and answers with its result; the program's call never runs. Landlock does not
// mediate a change of mode, and without a mount namespace the server's files have the
// worker's owner: a program's own chmod could change any of them (tar -P, cp -a onto a
// path). The guard reads the path as the program gave it, joins it to the program's working
// directory or to the directory its dirfd names (both read from /proc, where they are the
// host's paths: without a mount namespace the program sees the host's), and refuses with
// EPERM any path that is not the workspace or beneath it. It then resolves the path again
// from its own descriptor of the workspace, beneath it and through no symbolic link, so that
// a rename between the read and the call cannot lead it outside; the mode loses its setuid,
// setgid and sticky bits.
func (g *execGuard) chmod(n *seccompNotif) {
	dirfd, pathArg, mode, flags := chmodArgs(n.nr, n.args)
	path, err := readString(int(n.pid), uintptr(pathArg), unix.PathMax)
	if err != nil {
		errno, ok := err.(unix.Errno)
		if !ok {
			errno = unix.EFAULT
		}
		g.replyValue(n.id, errno) // EFAULT, ENAMETOOLONG: what the kernel would say
		return
	}
	if !g.valid(n.id) {
		return // the program is gone; its pid may be another process's now
	}
	g.replyValue(n.id, g.chmodIn(int(n.pid), dirfd, path, mode, flags))
}

// chmodArgs reads the arguments of a notified chmod (path, mode), fchmodat (dirfd, path, mode)
// or fchmodat2 (dirfd, path, mode, flags): dirfd is an int, its upper half ignored as the
// kernel does.
func chmodArgs(nr int32, args [6]uint64) (dirfd int, path uint64, mode uint32, flags uint64) {
	switch nr {
	case unix.SYS_FCHMODAT2:
		flags = args[3]
		fallthrough
	case unix.SYS_FCHMODAT:
		return int(int32(args[0])), args[1], uint32(args[2]), flags
	}
	return unix.AT_FDCWD, args[0], uint32(args[1]), 0
}

// beneath returns what follows the workspace in the absolute path p (".": the workspace
// itself), and false if p does not begin with it. Nothing of p is resolved or cleaned here:
// openat2 walks it, .. included, beneath the workspace.
func beneath(workspace, p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, workspace)
	if !ok || rest != "" && rest[0] != '/' {
		return "", false
	}
	if rest = strings.TrimLeft(rest, "/"); rest == "" {
		rest = "."
	}
	return rest, true
}

// chmodIn changes the mode of path, as process pid names it relative to dirfd, if it is in the
// workspace; it returns the errno the program's call is to fail with, or 0.
func (g *execGuard) chmodIn(pid, dirfd int, path string, mode uint32, flags uint64) unix.Errno {
	if g.wsfd < 0 || flags&^uint64(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return unix.EPERM
	}
	if path == "" && flags&unix.AT_EMPTY_PATH == 0 {
		return unix.ENOENT
	}
	// The path as the program wrote it, relative to the workspace: after the workspace's own
	// path (absolute), or after the directory it is relative to (its cwd or dirfd, read from
	// /proc, where they are the host's clean paths). A directory that is not the workspace or
	// beneath it (a descriptor of something else: a pipe, a deleted directory) is refused.
	var rel string
	var ok bool
	if filepath.IsAbs(path) {
		rel, ok = beneath(g.workspace, path)
	} else {
		base := "/proc/" + strconv.Itoa(pid) + "/cwd"
		if dirfd != unix.AT_FDCWD {
			base = "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(dirfd)
		}
		dir, err := os.Readlink(base)
		if err != nil {
			return unix.EPERM
		}
		if rel, ok = beneath(g.workspace, dir); ok && path != "" {
			rel += "/" + path
		}
	}
	if !ok {
		return unix.EPERM
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		how.Flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat2(g.wsfd, rel, &how)
	if err != nil {
		if errno, ok := err.(unix.Errno); ok && errno != unix.EXDEV && errno != unix.ELOOP && errno != unix.ENOSYS {
			return errno // ENOENT, ENOTDIR, ...: what the program's own call would have said
		}
		return unix.EPERM // out of the workspace, or through a symbolic link
	}
	defer unix.Close(fd)
	// An O_PATH descriptor takes no fchmod; its /proc link names the very file it holds.
	if err := unix.Fchmodat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), mode&0o777, 0); err != nil {
		if errno, ok := err.(unix.Errno); ok {
			return errno
		}
		return unix.EPERM
	}
	return 0
}

// valid reports whether notification id is still pending (its program still waits).
func (g *execGuard) valid(id uint64) bool {
	rc, err := g.f.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	rc.Control(func(fd uintptr) {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id)))
		ok = errno == 0
	})
	return ok
}

// decide returns 0 when the program at path (as process pid sees it) may be executed, or the
// error execve is to fail with.
func (g *execGuard) decide(pid int, path string) unix.Errno {
	if path == "" {
		return unix.ENOENT
	}
	if !filepath.IsAbs(path) {
		cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
		if err != nil {
			return unix.EACCES
		}
		path = filepath.Join(cwd, path)
	}
	real, err := resolve(filepath.Clean(path))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return unix.ENOENT // as execve says; stat tells the same without any program
	case errors.Is(err, unix.ENOTDIR):
		return unix.ENOTDIR
	case err != nil:
		return unix.EACCES
	case !g.allowed[real]:
		return unix.EACCES
	}
	return 0
}

// resolve returns the absolute, clean path with every symbolic link resolved, one component
// at a time. It refuses a path that passes through /proc or /dev at any step: those name
// different files for the program than for the server (/proc/self, /dev/fd), through a link
// too.
func resolve(path string) (string, error) {
	cur := "/"
	rest := strings.Split(path, "/")
	for links := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		for _, p := range []string{"/proc", "/dev"} {
			if next == p || strings.HasPrefix(next, p+"/") {
				return "", fs.ErrPermission
			}
		}
		fi, err := os.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > 40 {
				return "", unix.ELOOP
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", err
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			rest = append(strings.Split(target, "/"), rest...)
			continue
		}
		if len(rest) > 0 && !fi.IsDir() && strings.Trim(strings.Join(rest, ""), "/") != "" {
			return "", unix.ENOTDIR
		}
		cur = next
	}
	return cur, nil
}

// readString reads a NUL-terminated string of at most max bytes at addr in process pid, a
// page at a time (a string may end just before an unmapped page).
func readString(pid int, addr uintptr, max int) (string, error) {
	if addr == 0 {
		return "", unix.EFAULT
	}
	const page = 4096
	var out []byte
	buf := make([]byte, page)
	for len(out) < max {
		n := page - int(addr%page)
		local := []unix.Iovec{{Base: &buf[0], Len: uint64(n)}}
		remote := []unix.RemoteIovec{{Base: addr, Len: n}}
		got, err := unix.ProcessVMReadv(pid, local, remote, 0)
		if err != nil {
			return "", err
		}
		if i := indexByte(buf[:got], 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf[:got]...)
		addr += uintptr(got)
	}
	return "", unix.ENAMETOOLONG
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// canonical returns the set of paths, symbolic links resolved, that programs may execute.
func canonical(paths []string) map[string]bool {
	out := make(map[string]bool, len(paths))
	for _, p := range paths {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			out[real] = true
		}
	}
	return out
}

// ExecProbeCommand is a hidden subcommand that proves the exec check works on this host: it
// makes a listener as a worker does, prints its descriptor, runs the program named by its
// argument through it and prints "ok" if that ran. With "exit" it only exits.
const ExecProbeCommand = "__worker-exec-probe"

// ExecProbe is the body of [ExecProbeCommand].
func ExecProbe(args []string) int {
	if len(args) == 1 && args[0] == "exit" {
		return 0
	}
	if len(args) == 1 && args[0] == "nproc" {
		// The first thing this program does: what it was started with.
		var l unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_NPROC, &l)
		fmt.Println(l.Cur)
		return 0
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmbox "+ExecProbeCommand+" PROGRAM")
		return 2
	}
	if err := noNewPrivs(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var fd int
	var err error
	spawn.Do(func() { fd, err = loadExecListener(true, true, false) })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%d\n", fd)
	// The supervisor answers once it has the listener: until then this start waits in execve.
	var out []byte
	spawn.Do(func() { out, err = exec.Command(args[0], ExecProbeCommand, "nproc").Output() })
	if err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	fmt.Printf("ok %s", out)
	return 0
}

// probeExecCheck runs exe's exec probe and answers it: nil when every step worked (the
// listener, taking it, reading a program's memory, setting its process limit, the answer).
func probeExecCheck(exe string) error {
	// A value no host has by default, within this process's hard limit (a process may lower
	// its children's limits, never raise them).
	var l unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NPROC, &l)
	nproc := min(uint64(4093), l.Max-1)
	if nproc == l.Cur {
		nproc--
	}
	got, err := runExecProbe(exe, nproc)
	if err == nil && got != nproc {
		err = fmt.Errorf("the probe's program started with RLIMIT_NPROC %d, not %d", got, nproc)
	}
	return err
}

// runExecProbe runs the probe with a guard that sets nproc, and returns the RLIMIT_NPROC its
// program found at its start.
func runExecProbe(exe string, nproc uint64) (uint64, error) {
	target, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe, ExecProbeCommand, target)
	cmd.Env = []string{}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	timer := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	r := bufio.NewReader(out)
	fail := func(err error) error {
		cmd.Process.Kill()
		cmd.Wait()
		if s := strings.TrimSpace(stderr.String()); s != "" {
			return fmt.Errorf("%w (%s)", err, s)
		}
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, fail(errors.New("the probe made no listener"))
	}
	fd, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fail(fmt.Errorf("the probe said %q", line))
	}
	g, err := takeExecListener(cmd.Process.Pid, fd, map[string]bool{target: true}, programLimits{nproc: nproc}, "", nil)
	if err != nil {
		return 0, fail(err)
	}
	rest, _ := r.ReadString('\n')
	werr := cmd.Wait()
	g.close()
	limit, ok := strings.CutPrefix(strings.TrimSpace(rest), "ok ")
	n, perr := strconv.ParseUint(limit, 10, 64)
	if allowed, _ := g.counts(); werr != nil || !ok || perr != nil || allowed == 0 {
		return 0, fmt.Errorf("the probe's program did not run through the check: %v %q %s", werr, rest, strings.TrimSpace(stderr.String()))
	}
	return n, nil
}

// execCheck is the probe's verdict, once per executable.
var execCheck struct {
	sync.Mutex
	verdicts map[string]error
}

// execCheckWorks runs the probe for exe once and remembers the answer.
func execCheckWorks(exe string) error {
	execCheck.Lock()
	defer execCheck.Unlock()
	if err, ok := execCheck.verdicts[exe]; ok {
		return err
	}
	err := probeExecCheck(exe)
	if execCheck.verdicts == nil {
		execCheck.verdicts = map[string]error{}
	}
	execCheck.verdicts[exe] = err
	return err
}
