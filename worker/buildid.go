package worker

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// selfExe is the path workers are started from by default: the running binary itself, even
// after the file it was started from was replaced or removed (an upgrade in place).
const selfExe = "/proc/self/exe"

var (
	selfBuildOnce sync.Once
	selfBuild     string
)

// BuildID identifies the running wasmbox binary: its Go build id (a hash of its contents the
// Go tool records in the ELF note .note.go.buildid). A worker refuses a server of another
// build, and the server a worker of another build.
func BuildID() string {
	selfBuildOnce.Do(func() {
		id, err := fileBuildID(selfExe)
		if err != nil {
			id = "unknown: " + err.Error()
		}
		selfBuild = id
	})
	return selfBuild
}

// fileBuildID returns the build id of the binary at path: its Go build id note, or, for a
// binary without one, the SHA-256 of the file.
func fileBuildID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if id, err := goBuildID(f); err == nil {
		return id, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

var errNoBuildID = errors.New("worker: no Go build id note")

// goBuildID reads the .note.go.buildid section: namesz, descsz, type (4 bytes each), the name
// "Go\0\0", then descsz bytes of build id.
func goBuildID(r io.ReaderAt) (string, error) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return "", err
	}
	sec := ef.Section(".note.go.buildid")
	if sec == nil {
		return "", errNoBuildID
	}
	data, err := sec.Data()
	if err != nil || len(data) < 16 {
		return "", errNoBuildID
	}
	order := ef.ByteOrder
	namesz, descsz := order.Uint32(data), order.Uint32(data[4:])
	off := 12 + (uint64(namesz)+3)&^3
	if namesz != 4 || off+uint64(descsz) > uint64(len(data)) {
		return "", errNoBuildID
	}
	return string(data[off : off+uint64(descsz)]), nil
}

// checkPeer compares the version and build another side announced with this side's.
func checkPeer(version int, build, want string) error {
	switch {
	case version != ProtocolVersion:
		return fmt.Errorf("%w: protocol version %d, want %d (restart the server after an upgrade)", ErrVersion, version, ProtocolVersion)
	case build != want:
		return fmt.Errorf("%w: build %q, want %q (the wasmbox binary changed under the running server; restart it)", ErrVersion, build, want)
	}
	return nil
}
