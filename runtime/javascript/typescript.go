package javascript

import (
	"fmt"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// transpile turns TypeScript into JavaScript goja runs. Types are erased, not checked. The
// result carries an inline source map, so stack traces point at TypeScript lines. diag is
// non-empty when the code does not parse; it points at the TypeScript line and column.
func transpile(code, file string) (js, diag string) {
	res := api.Transform(code, api.TransformOptions{
		Loader: api.LoaderTS,
		Target: api.ES2020,
		// Cells may await at the top level; the interpreter runs such cells as async functions.
		Supported:      map[string]bool{"top-level-await": true},
		Sourcefile:     file,
		Sourcemap:      api.SourceMapInline,
		SourcesContent: api.SourcesContentExclude,
	})
	if len(res.Errors) > 0 {
		var b strings.Builder
		for _, m := range res.Errors {
			if m.Location != nil {
				fmt.Fprintf(&b, "%s:%d:%d: SyntaxError: %s\n    %s\n    %s^\n", m.Location.File, m.Location.Line, m.Location.Column+1,
					m.Text, m.Location.LineText, strings.Repeat(" ", m.Location.Column))
			} else {
				fmt.Fprintf(&b, "%s: SyntaxError: %s\n", file, m.Text)
			}
		}
		return "", b.String()
	}
	return string(res.Code), ""
}
