// Package assets holds what ships inside the wasmbox binary besides the interpreters: the
// guest-side Python modules (the driver that runs each request in the sandbox).
package assets

import (
	"embed"
	"io/fs"
)

//go:embed all:python
var python embed.FS

// Python returns the guest-side Python modules, mounted read-only in every Python sandbox.
func Python() fs.FS {
	sub, err := fs.Sub(python, "python")
	if err != nil {
		panic(err) // the directory is embedded above; this cannot fail
	}
	return sub
}
