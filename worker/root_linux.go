package worker

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A worker started in its own mount namespace (with CAP_SYS_ADMIN there, and nowhere else)
// builds the only file system its guests will see:
//
//	/usr/bin/<program>   each allowlisted program, read-only; nothing else is executable
//	the libraries        those programs load (ELF interpreter and DT_NEEDED, transitively)
//	/usr/share/...       data they read: zoneinfo, magic, locale, gconv
//	/etc                 ld.so.cache, localtime, magic, mime.types, a passwd with one user
//	/dev                 null, zero, random, urandom
//	/workspace           the session's workspace, also at /mnt/data: noexec, nosuid, nodev
//
// All of it is read-only but the workspace. No /proc, /sys, /tmp or host home. Because only
// allowlisted programs and their libraries exist, the dynamic loader can run nothing else, and
// because the workspace is noexec, an uploaded ELF cannot be executed or mapped executable.
// prepareRoot builds it and pivots into it, keeping the old root at /.oldroot until
// [bindRoot] has mounted the workspace, which unmounts it and drops every capability.

// WorkspacePath is where a worker with its own mount namespace sees the workspace.
const WorkspacePath = "/workspace"

const (
	oldRoot = "/.oldroot"
	roFlags = unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV
)

// dataTrees are directories programs read data from.
var dataTrees = []string{"/usr/share/zoneinfo", "/usr/share/misc", "/usr/lib/file", "/usr/lib/locale",
	"/usr/lib/" + triplet() + "/gconv", "/usr/share/file"}

// etcFiles are the host files of /etc the guest sees.
var etcFiles = []string{"/etc/ld.so.cache", "/etc/localtime", "/etc/magic", "/etc/mime.types"}

func triplet() string {
	if goruntime.GOARCH == "arm64" {
		return "aarch64-linux-gnu"
	}
	return "x86_64-linux-gnu"
}

// prepareRoot builds the guest's root and pivots into it. The old root stays at /.oldroot.
func prepareRoot(programs []string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	// /proc is a mount point every Linux has and the guest never sees: the new root goes there.
	const at = "/proc"
	if err := unix.Mount("tmpfs", at, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=1m,nr_inodes=4096"); err != nil {
		return fmt.Errorf("mount the new root: %w", err)
	}
	r := &rootBuilder{root: at, seen: map[string]bool{}}
	for _, p := range programs {
		if err := r.program(p); err != nil {
			return err
		}
	}
	for _, d := range dataTrees {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			if err := r.mirror(d); err != nil {
				return err
			}
		}
	}
	for _, f := range etcFiles {
		if _, err := os.Stat(f); err == nil {
			if err := r.mirror(f); err != nil {
				return err
			}
		}
	}
	if err := r.write("/etc/passwd", "wasmbox:x:1000:1000:wasmbox:/workspace:/nonexistent\n"); err != nil {
		return err
	}
	if err := r.write("/etc/group", "wasmbox:x:1000:\n"); err != nil {
		return err
	}
	for _, d := range []string{"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"} {
		if err := r.mirror(d); err != nil {
			return err
		}
	}
	for _, d := range []string{WorkspacePath, "/mnt/data", oldRoot} {
		if err := os.MkdirAll(at+d, 0o755); err != nil {
			return err
		}
	}
	if err := unix.PivotRoot(at, at+oldRoot); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	return os.Chdir("/")
}

// bindRoot mounts the workspace, forgets the old root, makes the root read-only and drops
// the capabilities the worker had in its namespace.
func bindRoot(workspace string) error {
	src := filepath.Join(oldRoot, workspace)
	for _, at := range []string{WorkspacePath, "/mnt/data"} {
		if err := unix.Mount(src, at, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mount the workspace: %w", err)
		}
		if err := unix.Mount("", at, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_NOEXEC|unix.MS_NOSUID|unix.MS_NODEV|lockedFlags(at), ""); err != nil {
			return fmt.Errorf("remount the workspace noexec: %w", err)
		}
	}
	if err := unix.Unmount(oldRoot, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount the old root: %w", err)
	}
	if err := os.Remove(oldRoot); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("remount the root read-only: %w", err)
	}
	return dropCapabilities()
}

// dropCapabilities empties every capability set of every thread.
func dropCapabilities() error {
	if _, _, errno := syscall.AllThreadsSyscall6(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0); errno != 0 {
		return fmt.Errorf("clear ambient capabilities: %w", errno)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
		return fmt.Errorf("drop capabilities: %w", errno)
	}
	return nil
}

// rootBuilder mirrors host paths into the new root: symbolic links on the way are recreated
// as they are, so paths resolve as on the host; the final file or directory is bind-mounted
// read-only.
type rootBuilder struct {
	root string
	seen map[string]bool
}

func (r *rootBuilder) write(path, content string) error {
	if err := os.MkdirAll(r.root+filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(r.root+path, []byte(content), 0o644)
}

// mirror makes host path p (absolute) resolve inside the root to the same file.
func (r *rootBuilder) mirror(p string) error {
	if r.seen[p] {
		return nil
	}
	r.seen[p] = true
	parts := strings.Split(strings.TrimPrefix(filepath.Clean(p), "/"), "/")
	cur := "/"
	for i, part := range parts {
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			return fmt.Errorf("mirror %s: %w", p, err)
		}
		rest := filepath.Join(parts[i+1:]...)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(next)
			if err != nil {
				return err
			}
			if _, err := os.Lstat(r.root + next); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(r.root+cur, 0o755); err != nil {
					return err
				}
				if err := os.Symlink(target, r.root+next); err != nil {
					return err
				}
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			return r.mirror(filepath.Join(target, rest))
		case i < len(parts)-1:
			cur = next
			continue
		case exists(r.root + next):
			return nil // inside a tree mirrored already
		case fi.IsDir():
			if err := os.MkdirAll(r.root+next, 0o755); err != nil {
				return err
			}
			return r.bind(next, unix.MS_REC)
		default:
			if err := os.MkdirAll(r.root+cur, 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(r.root+next, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			f.Close()
			return r.bind(next, 0)
		}
	}
	return nil
}

func (r *rootBuilder) bind(p string, flags uintptr) error {
	if err := unix.Mount(p, r.root+p, "", unix.MS_BIND|flags, ""); err != nil {
		return fmt.Errorf("bind %s: %w", p, err)
	}
	// Device nodes keep working: only their own bind mount may open them.
	ro := uintptr(roFlags)
	if strings.HasPrefix(p, "/dev/") {
		ro &^= unix.MS_NODEV
	}
	if err := unix.Mount("", r.root+p, "", ro|lockedFlags(r.root+p), ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", p, err)
	}
	return nil
}

// lockedFlags returns the flags of the mount at path that a remount inside a user namespace
// must keep: the kernel locks nosuid, nodev, noexec and the atime mode of mounts that came from
// a more privileged namespace, and refuses (EPERM) a remount that would change them. A
// container's /dev is such a mount (nosuid, noexec, strictatime).
func lockedFlags(path string) uintptr {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return 0
	}
	var flags uintptr
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	if uintptr(st.Flags)&(unix.ST_NOATIME|unix.ST_RELATIME) == 0 {
		flags |= unix.MS_STRICTATIME
	}
	return flags
}

// program mirrors an executable, its ELF interpreter and the libraries it needs.
func (r *rootBuilder) program(p string) error {
	if err := r.mirror(p); err != nil {
		return err
	}
	return r.libraries(p)
}

func (r *rootBuilder) libraries(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return nil // a script or not an ELF: nothing to load
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			b := make([]byte, prog.Filesz)
			if _, err := prog.ReadAt(b, 0); err == nil {
				interp := strings.TrimRight(string(b), "\x00")
				if err := r.mirror(interp); err != nil {
					return err
				}
			}
		}
	}
	libs, _ := f.ImportedLibraries()
	for _, lib := range libs {
		path := findLibrary(lib)
		if path == "" || r.seen[path] {
			continue
		}
		if err := r.mirror(path); err != nil {
			return err
		}
		if err := r.libraries(path); err != nil {
			return err
		}
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func findLibrary(name string) string {
	for _, dir := range []string{"/lib/" + triplet(), "/usr/lib/" + triplet(), "/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// programFiles returns what the programs need to run, with symbolic links resolved: each
// program, its ELF interpreter and the libraries it loads (DT_NEEDED, transitively). Without a
// mount namespace Landlock lets programs read only these of the system trees, so the dynamic
// loader, which runs any file it can read, cannot run a system program outside the allowlist.
func programFiles(programs []string) []string {
	seen := map[string]bool{}
	var walk func(p string)
	walk = func(p string) {
		real, err := filepath.EvalSymlinks(p)
		if err != nil || seen[real] {
			return
		}
		seen[real] = true
		f, err := elf.Open(real)
		if err != nil {
			return // a script or not an ELF: nothing to load
		}
		defer f.Close()
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				b := make([]byte, prog.Filesz)
				if _, err := prog.ReadAt(b, 0); err == nil {
					walk(strings.TrimRight(string(b), "\x00"))
				}
			}
		}
		libs, _ := f.ImportedLibraries()
		for _, lib := range libs {
			if path := findLibrary(lib); path != "" {
				walk(path)
			}
		}
	}
	for _, p := range programs {
		walk(p)
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	return out
}
