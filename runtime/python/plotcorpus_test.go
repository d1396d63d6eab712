package python_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	mcplib "github.com/mark3labs/mcp-go/mcp"

	"wasmbox/front"
	"wasmbox/mcp"
	"wasmbox/runtime"
	"wasmbox/runtime/python"
	"wasmbox/sessions"
)

// plotTolerance is how far a cell's figure may be from the same cell drawn natively: the root
// mean square of the difference of every RGBA channel value (0-255), as matplotlib's own image
// comparisons measure it. Both sides run matplotlib 3.11.2 with FreeType 2.14.3 and the same
// DejaVu fonts; what differs is the compiler and float rounding of Agg's anti-aliasing
// (wasm32 has no fused multiply-add; the wheel is built with gcc for x86_64), HarfBuzz 12.3.2
// against the wheel's 14.1.0, and numpy's kernels (no SIMD in the sandbox).
const plotTolerance = 1.0

// plotDiffs lists the cells of testdata/plots whose figure differs from native beyond the
// tolerance, with the cause; the test fails for a cell not listed that differs and for a listed
// one that no longer does, so the README's list stays true.
var plotDiffs = map[string]string{}

// nativePlotRunner runs every cell natively in one process, as the sandbox runs each: Agg, then
// every figure still open saved as the driver shows it (savefig(format='png'), the figure's own
// size and dpi) to <cell>-<n>.png, or the exception to <cell>.err; then the figures are closed.
const nativePlotRunner = `import glob, traceback
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.show = lambda *a, **k: None  # the sandbox shows open figures; here they are saved below
for path in sorted(glob.glob("cells/*.py")):
    name = path[len("cells/"):-3]
    try:
        exec(compile(open(path).read(), path, "exec"), {"__name__": "__main__"})
        for i, num in enumerate(plt.get_fignums()):
            plt.figure(num).savefig("%s-%d.png" % (name, i), format="png")
    except Exception:
        open(name + ".err", "w").write(traceback.format_exc())
    plt.close("all")
`

// TestMatplotlib_corpus runs each plotting cell of testdata/plots (matplotlib in its pyplot and
// object-oriented styles, pandas' plot, seaborn) in the sandbox over MCP, as a client does
// (execute_python_code in a new session; the figure comes back as an image block), and natively
// with the same releases (native-analysis.sh), and compares the two PNGs pixel by pixel.
func TestMatplotlib_corpus(t *testing.T) {
	if python.RaceEnabled {
		// Python inside the guest and natively, where -race sees nothing: make test runs it in
		// the go test without -race, beside the packages' suites (each mostly one core).
		t.Skip("run without -race (make test does)")
	}
	t.Parallel()
	site := python.TestInputs(t, "WASMBOX_NATIVE_ANALYSIS", filepath.Join("matplotlib", "__init__.py"),
		"the native packages (run wasm/cpython/native-analysis.sh DIR and set it to DIR; `make test` does)")
	native := python.NativePython(t)
	cells, err := filepath.Glob(filepath.Join("testdata", "plots", "[0-9]*.py"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(cells)
	if len(cells) < 80 {
		t.Fatalf("found %d cells in testdata/plots, want at least 80", len(cells))
	}
	names := map[string]bool{}
	for _, c := range cells {
		names[strings.TrimSuffix(filepath.Base(c), ".py")] = true
	}
	for name := range plotDiffs {
		if !names[name] {
			t.Errorf("plotDiffs lists %s, which is not a cell in testdata/plots", name)
		}
	}
	c := corpusClient(t)
	const versions = "import matplotlib, seaborn, numpy, pandas, PIL, matplotlib.ft2font as f\n" +
		"print(matplotlib.__version__, seaborn.__version__, numpy.__version__, pandas.__version__, PIL.__version__, f.__freetype_version__)\n"
	got, want := c.run(t, versions), python.RunNative(t, native, site, t.TempDir(), "versions.py", versions)
	if got.Stdout != want {
		t.Fatalf("the sandbox and the native side do not run the same releases: sandbox %q %+v, native %q", got.Stdout, got.Error, want)
	}

	// The native side first, all cells in one process (importing matplotlib, pandas and seaborn
	// natively takes a second or two).
	work := t.TempDir()
	os.Mkdir(filepath.Join(work, "cells"), 0o755)
	for _, path := range cells {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, "cells", filepath.Base(path)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out := python.RunNative(t, native, site, work, "runner.py", nativePlotRunner); strings.Contains(out, "--- raised") {
		t.Fatalf("natively: %s", out)
	}

	var worst []string
	for _, path := range cells {
		name := strings.TrimSuffix(filepath.Base(path), ".py")
		code, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			out := c.run(t, string(code))
			if !out.Success || len(out.images) != 1 || len(out.Figures) != 1 {
				t.Fatalf("in the sandbox: %+v, %d image blocks\n%s", out.Error, len(out.images), python.Tail(out.Stderr, 3000))
			}
			if b, err := os.ReadFile(filepath.Join(work, name+".err")); err == nil {
				t.Fatalf("natively: %s", b)
			}
			want, err := os.ReadFile(filepath.Join(work, name+"-0.png"))
			if err != nil {
				t.Fatalf("natively, the cell left no figure: %v", err)
			}
			if _, err := os.Stat(filepath.Join(work, name+"-1.png")); err == nil {
				t.Fatal("natively, the cell left more than one figure")
			}
			rms, why := python.PNGRMS(out.images[0], want)
			cause, known := plotDiffs[name]
			differs := why != "" || rms > plotTolerance
			worst = append(worst, fmt.Sprintf("%6.3f %s%s", rms, name, why))
			switch {
			case differs && !known:
				t.Errorf("%s differs from native: RMS %.3f (tolerance %.1f)%s", name, rms, plotTolerance, why)
			case !differs && known:
				t.Errorf("%s now matches native (RMS %.3f); remove it from plotDiffs (listed as: %s)", name, rms, cause)
			case differs:
				t.Logf("known difference (RMS %.3f%s): %s", rms, why, cause)
			}
		})
	}
	sort.Sort(sort.Reverse(sort.StringSlice(worst)))
	t.Logf("%d cells; RMS against native, largest first:\n%s", len(cells), strings.Join(worst, "\n"))
}

// mcpClient calls wasmbox's MCP tools over streamable HTTP, served by the package's engine.
type mcpClient struct{ c *client.Client }

// corpusOutput is a run's result as a client sees it: the structured output and the images of
// the image blocks after the text.
type corpusOutput struct {
	front.RunOutput
	images [][]byte
}

func corpusClient(t *testing.T) mcpClient {
	t.Helper()
	mgr, err := sessions.New(sessions.WithDataDir(t.TempDir()), sessions.WithEngine(python.SharedEngine(t)),
		sessions.WithLimits(runtime.Limits{Timeout: 2 * time.Minute}), sessions.WithReapInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	f, err := front.New(front.Config{Sessions: mgr, Version: "test"})
	if err != nil {
		mgr.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(f.Handler(mcp.New(f).Mount))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		mgr.Close()
	})
	c, err := client.NewStreamableHttpClient(hs.URL + mcp.PathStreamable)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcplib.InitializeRequest{}
	init.Params.ProtocolVersion = mcplib.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcplib.Implementation{Name: "wasmbox-plot-corpus", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return mcpClient{c}
}

// run runs code with execute_python_code in a new session, which it deletes after.
func (m mcpClient) run(t *testing.T, code string) corpusOutput {
	t.Helper()
	res := m.call(t, "execute_python_code", map[string]any{"code": code})
	var out corpusOutput
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out.RunOutput); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
	for _, block := range res.Content {
		if im, ok := block.(mcplib.ImageContent); ok && im.MIMEType == "image/png" {
			data, err := base64.StdEncoding.DecodeString(im.Data)
			if err != nil {
				t.Fatalf("image block: %v", err)
			}
			out.images = append(out.images, data)
		}
	}
	if out.SessionID != "" {
		m.call(t, "delete_session", map[string]any{"session_id": out.SessionID})
	}
	return out
}

func (m mcpClient) call(t *testing.T, tool string, args map[string]any) *mcplib.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	req := mcplib.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := m.c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return res
}
