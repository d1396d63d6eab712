package worker

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLockedFlags: the flags a remount inside a user namespace must keep are read from the mount
// itself, atime mode included (strictatime where neither relatime nor noatime is set, as on a
// container's /dev); without them the worker's root cannot be built in a container (EPERM).
func TestLockedFlags(t *testing.T) {
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/proc", "/dev", "/"} {
		var opts []string
		for _, line := range strings.Split(string(mountinfo), "\n") {
			if f := strings.Fields(line); len(f) > 5 && f[4] == path {
				opts = strings.Split(f[5], ",") // the last mount at path is the one seen
			}
		}
		if opts == nil {
			continue
		}
		has := func(o string) bool {
			for _, x := range opts {
				if x == o {
					return true
				}
			}
			return false
		}
		got := lockedFlags(path)
		for _, c := range []struct {
			opt  string
			flag uintptr
		}{{"nosuid", unix.MS_NOSUID}, {"nodev", unix.MS_NODEV}, {"noexec", unix.MS_NOEXEC},
			{"relatime", unix.MS_RELATIME}, {"noatime", unix.MS_NOATIME}} {
			if has(c.opt) != (got&c.flag != 0) {
				t.Errorf("%s (%v): flags %#x, %s %v", path, opts, got, c.opt, got&c.flag != 0)
			}
		}
		if strict := !has("relatime") && !has("noatime"); strict != (got&unix.MS_STRICTATIME != 0) {
			t.Errorf("%s (%v): flags %#x, strictatime %v", path, opts, got, !strict)
		}
	}
	// A container's /dev as runc mounts it: nosuid, noexec, strictatime (root can make one).
	if os.Getuid() == 0 {
		dir := t.TempDir()
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_STRICTATIME, "size=64k"); err != nil {
			t.Fatal(err)
		}
		defer unix.Unmount(dir, unix.MNT_DETACH)
		if got, want := lockedFlags(dir), uintptr(unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_STRICTATIME); got != want {
			t.Errorf("a nosuid,noexec,strictatime tmpfs: %#x, want %#x", got, want)
		}
	}
	if lockedFlags("/nonexistent") != 0 {
		t.Error("a missing path has flags")
	}
}
