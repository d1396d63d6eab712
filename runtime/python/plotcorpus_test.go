package python

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
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
// object-oriented styles, pandas' plot, seaborn) in the sandbox, where the figure it leaves
// comes back as an image, and natively with the same releases (native-analysis.sh), and
// compares the two PNGs pixel by pixel.
func TestMatplotlib_corpus(t *testing.T) {
	if raceEnabled {
		// Python inside the guest and natively, where -race sees nothing: make test runs it in
		// the go test without -race, beside the packages' suites (each mostly one core).
		t.Skip("run without -race (make test does)")
	}
	t.Parallel()
	site := testInputs(t, "WASMBOX_NATIVE_ANALYSIS", filepath.Join("matplotlib", "__init__.py"),
		"the native packages (run wasm/cpython/native-analysis.sh DIR and set it to DIR; `make test` does)")
	native := nativeAnalysis{python: nativePython(t), site: site}
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
	const versions = "import matplotlib, seaborn, numpy, pandas, PIL, matplotlib.ft2font as f\n" +
		"print(matplotlib.__version__, seaborn.__version__, numpy.__version__, pandas.__version__, PIL.__version__, f.__freetype_version__)\n"
	if got, want := sandboxTranscript(t, versions, nil), native.transcript(t, "versions.py", versions, nil); got != want {
		t.Fatalf("the sandbox and the native side do not run the same releases: sandbox %q, native %q", got, want)
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
		writeFiles(t, filepath.Join(work, "cells"), map[string][]byte{filepath.Base(path): b})
	}
	if out := native.run(t, work, "runner.py", nativePlotRunner); strings.Contains(out, "--- raised") {
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
			ip, _ := newInterp(t)
			res := run(t, ip, string(code))
			if res.Error != nil || len(res.Images) != 1 {
				t.Fatalf("in the sandbox: %+v, %d images\n%s", res.Error, len(res.Images), tail(res.Stderr, 3000))
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
			rms, why := pngRMS(res.Images[0].Data, want)
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

// pngRMS decodes two PNGs and returns the root mean square of the differences of their RGBA
// channel values (0-255), or why they cannot be compared.
func pngRMS(a, b []byte) (float64, string) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return math.Inf(1), " (sandbox's PNG: " + err.Error() + ")"
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return math.Inf(1), " (native PNG: " + err.Error() + ")"
	}
	ra, rb := ia.Bounds(), ib.Bounds()
	if ra.Size() != rb.Size() {
		return math.Inf(1), fmt.Sprintf(" (size %v, natively %v)", ra.Size(), rb.Size())
	}
	var sum float64
	for y := 0; y < ra.Dy(); y++ {
		for x := 0; x < ra.Dx(); x++ {
			ca := channels(ia, ra.Min.X+x, ra.Min.Y+y)
			cb := channels(ib, rb.Min.X+x, rb.Min.Y+y)
			for i := range ca {
				d := float64(ca[i]) - float64(cb[i])
				sum += d * d
			}
		}
	}
	return math.Sqrt(sum / float64(4*ra.Dx()*ra.Dy())), ""
}

func channels(im image.Image, x, y int) [4]uint8 {
	r, g, b, a := im.At(x, y).RGBA()
	return [4]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}
