package worker

import (
	"bufio"
	"errors"
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
// says why that is impossible here, or nil. Creating a user namespace is not enough: a
// container whose capability bounding set lacks CAP_SYS_ADMIN (the engines' default) lets
// its processes create one but not keep that capability in it, and the worker start fails.
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
// namespaces, or the capability a worker needs in them.
func NamespacesAvailable() bool { return nsProbe() == nil }

// NamespacesUnavailable says why workers cannot run in namespaces here ("" when they can).
func NamespacesUnavailable() string {
	err := nsProbe()
	if err == nil {
		return ""
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		if !boundingHas(unix.CAP_SYS_ADMIN) {
			return "this process's capability bounding set lacks CAP_SYS_ADMIN, which a worker needs inside its namespaces to build its root (a container's default)"
		}
		return "this user may not create user namespaces (" + err.Error() + ")"
	}
	return err.Error()
}

// boundingHas reports whether capability c is in this process's bounding set.
func boundingHas(c uintptr) bool {
	n, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, c, 0, 0, 0)
	return err == nil && n == 1
}
