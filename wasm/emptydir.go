package wasm

import (
	"io/fs"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// dirEntry is an empty directory.
type dirEntry struct {
	experimentalsys.UnimplementedFile
}

func (*dirEntry) IsDir() (bool, experimentalsys.Errno) { return true, 0 }

func (*dirEntry) Stat() (sys.Stat_t, experimentalsys.Errno) {
	return sys.Stat_t{Mode: fs.ModeDir | 0o500, Nlink: 1}, 0
}
func (*dirEntry) Readdir(int) ([]experimentalsys.Dirent, experimentalsys.Errno) { return nil, 0 }
func (*dirEntry) Seek(int64, int) (int64, experimentalsys.Errno)                { return 0, 0 }
