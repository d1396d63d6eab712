// Command bundle builds the playground's editor bundle (assets/web/dist/editor.js) from the
// CodeMirror packages in assets/web/node_modules with esbuild's Go API. `make` runs it.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/evanw/esbuild/pkg/api"
)

func main() {
	dir := "assets/web"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{filepath.Join(dir, "src", "editor.js")},
		Bundle:            true,
		Format:            api.FormatESModule,
		MinifyWhitespace:  true,
		MinifySyntax:      true,
		MinifyIdentifiers: true,
		Target:            api.ES2020,
		Outfile:           filepath.Join(dir, "dist", "editor.js"),
		NodePaths:         []string{filepath.Join(dir, "node_modules")},
		Write:             true,
		LogLevel:          api.LogLevelWarning,
	})
	if len(res.Errors) > 0 {
		for _, e := range res.Errors {
			fmt.Fprintln(os.Stderr, "bundle:", e.Text)
		}
		os.Exit(1)
	}
}
