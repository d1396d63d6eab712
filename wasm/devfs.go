package wasm

import (
	"io/fs"
	"strings"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// DevPath holds the guest's /dev: null only. Programs silence output by writing to os.devnull
// (matplotlib's Qhull wrapper opens it for every triangulation, and fails without it).
const DevPath = "/dev"

// devFS is /dev with one entry, null: writes are discarded, reads find the end of the file.
type devFS struct {
	experimentalsys.UnimplementedFS
}

const nullMode = fs.ModeDevice | fs.ModeCharDevice | 0o666

func (devFS) OpenFile(p string, flag experimentalsys.Oflag, _ fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	switch p {
	case "", ".", "/":
		return &devDir{}, 0
	case "null":
		if flag&experimentalsys.O_DIRECTORY != 0 {
			return nil, experimentalsys.ENOTDIR
		}
		return &nullFile{}, 0
	}
	if flag&experimentalsys.O_CREAT != 0 && !strings.Contains(p, "/") {
		return nil, experimentalsys.EACCES // as /dev refuses a user who is not root
	}
	return nil, experimentalsys.ENOENT
}

func (d devFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	switch p {
	case "", ".", "/":
		return sys.Stat_t{Mode: fs.ModeDir | 0o555, Nlink: 1}, 0
	case "null":
		return sys.Stat_t{Mode: nullMode, Nlink: 1}, 0
	}
	return sys.Stat_t{}, experimentalsys.ENOENT
}

func (d devFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) { return d.Stat(p) }

// devDir is /dev itself.
type devDir struct {
	experimentalsys.UnimplementedFile
	read bool
}

func (*devDir) IsDir() (bool, experimentalsys.Errno) { return true, 0 }
func (*devDir) Stat() (sys.Stat_t, experimentalsys.Errno) {
	return sys.Stat_t{Mode: fs.ModeDir | 0o555, Nlink: 1}, 0
}

func (d *devDir) Readdir(int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	if d.read {
		return nil, 0
	}
	d.read = true
	return []experimentalsys.Dirent{{Name: "null", Type: nullMode.Type()}}, 0
}

func (d *devDir) Seek(off int64, whence int) (int64, experimentalsys.Errno) {
	if off == 0 && whence == 0 {
		d.read = false // rewinddir
	}
	return 0, 0
}

// nullFile is /dev/null.
type nullFile struct {
	experimentalsys.UnimplementedFile
}

func (*nullFile) IsDir() (bool, experimentalsys.Errno) { return false, 0 }
func (*nullFile) Stat() (sys.Stat_t, experimentalsys.Errno) {
	return sys.Stat_t{Mode: nullMode, Nlink: 1}, 0
}
func (*nullFile) Read([]byte) (int, experimentalsys.Errno)         { return 0, 0 }
func (*nullFile) Pread([]byte, int64) (int, experimentalsys.Errno) { return 0, 0 }
func (*nullFile) Write(p []byte) (int, experimentalsys.Errno)      { return len(p), 0 }
func (*nullFile) Pwrite(p []byte, _ int64) (int, experimentalsys.Errno) {
	return len(p), 0
}
func (*nullFile) Seek(int64, int) (int64, experimentalsys.Errno) { return 0, 0 }
func (*nullFile) Truncate(int64) experimentalsys.Errno           { return 0 }
func (*nullFile) Sync() experimentalsys.Errno                    { return 0 }
func (*nullFile) Datasync() experimentalsys.Errno                { return 0 }
