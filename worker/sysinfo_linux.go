package worker

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// memTotal returns the machine's memory in bytes (0 if unknown).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cgroupLimit returns the memory limit of this process's cgroup (v2 or v1), 0 if none.
func cgroupLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && n > 0 && n < 1<<50 {
			return n
		}
	}
	return 0
}

// inNamespaces sets what starts a worker in its own user, network, PID, IPC, UTS and mount
// namespaces, as uid guestUID, holding CAP_SYS_ADMIN in them to build its root (dropped before
// any guest input, see bindRoot).
func inNamespaces(attr *syscall.SysProcAttr) {
	attr.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID |
		syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNS
	attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: guestUID, HostID: os.Getuid(), Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: guestUID, HostID: os.Getgid(), Size: 1}}
	attr.GidMappingsEnableSetgroups = false
}

// nsProbe starts this binary exactly as a worker in namespaces starts (see inNamespaces) and
// returns why that failed, or nil: the flags, mappings and capability a worker asks for are
// what is tried, not only whether a user namespace can be made.
var nsProbe = sync.OnceValue(func() error {
	cmd := exec.Command("/proc/self/exe", Command)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	inNamespaces(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return err
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil
})

// NamespacesAvailable reports whether this process may start workers in new user, network,
// PID, IPC, UTS and mount namespaces. Hosted containers often forbid unprivileged user
// namespaces.
func NamespacesAvailable() bool { return nsProbe() == nil }

// NamespacesUnavailable says why workers cannot run in namespaces here ("" when they can).
func NamespacesUnavailable() string {
	err := nsProbe()
	if err == nil {
		return ""
	}
	return "a worker could not be started in new namespaces: " + err.Error()
}
