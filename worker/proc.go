package worker

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// proc is one worker process as the supervisor sees it.
type proc struct {
	cmd    *exec.Cmd
	conn   *os.File // the supervisor's end of the socketpair; pollable, so deadlines work
	stderr *tail
	done   chan struct{} // closed when the process has been waited for
	state  *os.ProcessState
	layers map[string]string
	killed bool       // the supervisor killed it (timeout, close, idle)
	guard  *execGuard // answers its programs' execve (nil: no exec check)
	exited bool       // closeGuard ran: a guard set after it is closed at once
	// pooledAt is when it joined the pool (see StopIdle).
	pooledAt time.Time
	// held is what the memory budget charges it, counted in the supervisor's held while
	// counted is set, and in its stopping while stopping is (all guarded by the supervisor's
	// mu).
	held              int64
	counted, stopping bool
	// measures counts the measures that set held (guarded by the supervisor's mu): a measure
	// taken before another that was charged first is stale (see remeasure).
	measures uint64
	// memCgroup is its tree's memory cgroup ("" when it has none; see makeCgroups).
	memCgroup string
	mu        sync.Mutex
}

// setGuard makes g the worker's exec guard; it ends with the worker.
func (p *proc) setGuard(g *execGuard) {
	p.mu.Lock()
	gone := p.exited
	if !gone {
		p.guard = g
	}
	p.mu.Unlock()
	if gone {
		g.close()
	}
}

// forksRefused is how many forks of its programs the exec check refused so far.
func (p *proc) forksRefused() int {
	p.mu.Lock()
	g := p.guard
	p.mu.Unlock()
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.forksRefused
}

// closeGuard stops the worker's exec guard, and any set later (the worker is gone).
func (p *proc) closeGuard() {
	p.mu.Lock()
	g := p.guard
	p.exited = true
	p.mu.Unlock()
	g.close()
}

// spawnOptions are the process attributes of a new worker.
type spawnOptions struct {
	exe        string
	argv0      string
	namespaces bool
	memory     int64 // the guests' memory limit: Go's garbage collector aims below it
	noCgroups  bool  // make no cgroups for it (tests of the bounds where none can be made)
}

// startWorker starts a worker process; it is not set up yet.
func startWorker(o spawnOptions) (*proc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("worker: socketpair: %w", err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("worker: socketpair: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "worker")
	theirs := os.NewFile(uintptr(fds[1]), "supervisor")
	defer theirs.Close()

	cmd := exec.Command(o.exe, Command)
	cmd.Args[0] = o.argv0 // the binary's name in ps, when exe is /proc/self/exe
	// Nothing of the server's environment reaches a worker.
	cmd.Env = []string{fmt.Sprintf("GOMEMLIMIT=%d", o.memory+64<<20)}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{theirs}
	p := &proc{cmd: cmd, conn: ours, stderr: &tail{max: 8 << 10}, done: make(chan struct{})}
	cmd.Stdout = p.stderr
	cmd.Stderr = p.stderr
	// A session of its own (and so a process group: kill(-pid) ends the group): what its
	// programs start stays in the session unless it calls setsid, so what a worker that died
	// left behind can be found by its session id (see killSession).
	attr := &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if o.namespaces {
		inNamespaces(attr)
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, fmt.Errorf("worker: start %s: %w", o.exe, err)
	}
	// Before the supervisor sends the setup: nothing the worker starts is outside them.
	var cgroups treeCgroups
	if !o.noCgroups {
		cgroups = makeCgroups(cmd.Process.Pid, o.memory)
		p.memCgroup = cgroups.memory()
	}
	started := time.Now()
	go func() {
		cmd.Wait()
		killSession(cmd.Process.Pid, started)
		p.closeGuard()
		cgroups.remove()
		p.mu.Lock()
		p.state = cmd.ProcessState
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// guestUID is the uid (and gid) workers and their programs have inside their user namespace:
// never root.
const guestUID = 1000

// call sends m and waits for the reply until deadline (zero: no deadline).
func (p *proc) call(m *message, deadline time.Time) (*message, error) {
	p.conn.SetDeadline(deadline)
	if err := writeMessage(p.conn, m); err != nil {
		return nil, err
	}
	return readMessage(p.conn)
}

// kill ends the worker's whole process group and waits until it is gone.
func (p *proc) kill() {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	p.cmd.Process.Kill()
	<-p.done
	p.closeGuard()
	p.conn.Close()
}

// hungUp reports whether the worker closed its end of the channel (it exited, even if it has
// not been reaped yet) or wrote something nobody asked for. Either way it is not to be used.
func (p *proc) hungUp() bool {
	rc, err := p.conn.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		gone = err == nil && n > 0 && fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0
	})
	return gone
}

// alive reports whether the process has not exited.
func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exitReason describes how the worker ended, once it has.
func (p *proc) exitReason() (kind string, why string) {
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
		p.kill()
	}
	p.mu.Lock()
	st, killed := p.state, p.killed
	p.mu.Unlock()
	out := p.stderr.String()
	switch {
	case strings.Contains(out, "out of memory") || strings.Contains(out, "cannot allocate memory"):
		return "memory", "the worker ran out of memory (its address-space limit)"
	case strings.Contains(out, "stack overflow") || strings.Contains(out, "stack exceeds"):
		return "crash", "the worker's stack overflowed (nesting too deep)"
	case st == nil:
		return "crash", "the worker disappeared"
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	switch {
	case killed:
		return "crash", "the worker was stopped"
	case ws.Signaled() && ws.Signal() == syscall.SIGXCPU:
		return "crash", "the worker used up its CPU time limit"
	case ws.Signaled() && ws.Signal() == syscall.SIGSYS:
		return "denied", "the worker made a forbidden system call and was killed"
	case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
		// Not wasmbox's own kill. Whether it was the OOM killer the worker's stderr may say
		// (its cgroup's event counters); the kind stays a crash.
		return "crash", "the worker was killed from outside wasmbox (SIGKILL: the kernel's OOM killer at its memory cgroup's limit, or an operator)"
	case ws.Signaled():
		return "crash", fmt.Sprintf("the worker was killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	line := lastLine(out)
	if line == "" {
		line = fmt.Sprintf("exit status %d", ws.ExitStatus())
	}
	return "crash", "the worker crashed: " + line
}

func lastLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "runtime:") {
			return strings.TrimSpace(l)
		}
	}
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// errExited reports a worker that is gone.
var errExited = errors.New("worker: process exited")

// tail keeps the first and last bytes written to it (a worker's stderr).
type tail struct {
	mu    sync.Mutex
	max   int
	head  bytes.Buffer
	last  []byte
	total int
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n0 := len(b)
	t.total += n0
	if room := t.max - t.head.Len(); room > 0 {
		n := min(room, len(b))
		t.head.Write(b[:n])
		b = b[n:]
	}
	t.last = append(t.last, b...)
	if len(t.last) > t.max {
		t.last = t.last[len(t.last)-t.max:]
	}
	return n0, nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.head.String() + string(t.last)
}
