package assets

import (
	"embed"
	"io/fs"
)

// web is the playground: index.html, its script and style, and dist/editor.js, the CodeMirror
// bundle `make` builds from assets/web/node_modules (not committed).
//
//go:embed web/index.html web/app.js web/style.css web/dist/editor.js
var web embed.FS

// Web returns the playground's files, rooted at assets/web.
func Web() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the directory is embedded above; this cannot fail
	}
	return sub
}
