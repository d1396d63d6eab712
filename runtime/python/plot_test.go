package python

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// The seed's examples: a figure shown, one saved into the workspace, one left open at the end
// of a cell; each shown figure is closed.
func TestMatplotlib_seedExamples(t *testing.T) {
	ip, dir := newInterp(t)
	res := run(t, ip, `import numpy as np
import matplotlib.pyplot as plt
x = np.linspace(0, 10, 100)
y = np.exp(-0.3 * x) * np.sin(2 * x)
plt.figure(figsize=(8, 4))
plt.plot(x, y, 'b-', label='damped sine')
plt.plot(x, np.exp(-0.3 * x), 'r--', label='envelope')
plt.title('Damped sine wave'); plt.xlabel('time'); plt.ylabel('amplitude')
plt.legend(); plt.grid(True)
plt.savefig('wave.png')
plt.show()`)
	if res.Error != nil || len(res.Images) != 1 || !bytes.HasPrefix(res.Images[0].Data, pngMagic) {
		t.Fatalf("damped sine: %+v %s, %d images", res.Error, res.Stderr, len(res.Images))
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(res.Images[0].Data)); err != nil || cfg.Width != 800 || cfg.Height != 400 {
		t.Errorf("the figure shown is %+v, %v; want 800x400 (figsize 8x4 at 100 dpi)", cfg, err)
	}
	saved, err := os.ReadFile(filepath.Join(dir, "wave.png"))
	if err != nil || !bytes.HasPrefix(saved, pngMagic) {
		t.Fatalf("savefig wrote no PNG: %v", err)
	}
	res = run(t, ip, `rng = np.random.default_rng(0)
fig, axs = plt.subplots(2, 2, figsize=(10, 8))
axs[0, 0].plot(range(10), [v * v for v in range(10)])
axs[0, 1].scatter(rng.random(50), rng.random(50))
axs[1, 0].bar(['A', 'B', 'C'], [3, 1, 2])
axs[1, 1].hist(rng.normal(size=500), bins=20)
for ax, name in zip(axs.flat, ['line', 'scatter', 'bar', 'hist']):
    ax.set_title(name)
fig.suptitle('2x2')
plt.tight_layout()`)
	if res.Error != nil || len(res.Images) != 1 {
		t.Fatalf("2x2 grid left open is shown at the end of the cell: %+v %s, %d images", res.Error, res.Stderr, len(res.Images))
	}
	if res := run(t, ip, "len(plt.get_fignums())"); res.Stdout != "0\n" {
		t.Errorf("figures were not closed after being shown: %q", res.Stdout)
	}
}

// The base image has drawn a figure (a session's first figure finds the PNG writer, mathtext
// and the text machinery imported) but keeps no font open: the fonts' descriptors would not
// survive into the interpreters made from it, and the next figure would read a closed file.
func TestMatplotlib_warmBaseImage(t *testing.T) {
	ip, _ := newInterp(t)
	res := run(t, ip, `import gc, io, sys
print(all(m in sys.modules for m in ('PIL.PngImagePlugin', 'matplotlib.backends.backend_agg', 'matplotlib._mathtext')))
print([o.name for o in gc.get_objects() if isinstance(o, io.FileIO) and not o.closed and o.fileno() > 2])
import matplotlib.pyplot as plt
print(plt.get_fignums())
fig, ax = plt.subplots()
ax.plot([1, 2], [3, 4], label=r'$\alpha^2$')
ax.set_title('bold', fontweight='bold')
ax.legend()
plt.show()`)
	if res.Error != nil || res.Stdout != "True\n[]\n[]\n" || len(res.Images) != 1 {
		t.Fatalf("got %q, %d images, error %+v\n%s", res.Stdout, len(res.Images), res.Error, res.Stderr)
	}
}

// A figure shown is what savefig writes (the savefig.* settings apply: tight bounding box, dpi,
// transparency): the same bytes, so a run that saves the figure it shows returns one image.
func TestMatplotlib_shownAsSaved(t *testing.T) {
	ip, dir := newInterp(t)
	res := run(t, ip, `import matplotlib, matplotlib.pyplot as plt
def both(fig, name):
    fig.savefig(name + '.png')
    fig.show()
fig, ax = plt.subplots(figsize=(3, 2)); ax.plot([1, 3, 2]); ax.set_title('t'); ax.imshow([[0, 1], [2, 3]])
both(fig, 'plain')
fig, ax = plt.subplots(figsize=(3, 2)); ax.plot([1, 3, 2])
with matplotlib.rc_context({'savefig.bbox': 'tight', 'savefig.dpi': 150, 'savefig.transparent': True}):
    both(fig, 'settings')
fig = plt.figure(figsize=(2, 2)); fig.patch.set_alpha(0.3); fig.text(0.5, 0.5, 'alpha')
both(fig, 'alpha')`)
	if res.Error != nil || len(res.Images) != 3 {
		t.Fatalf("%+v %s, %d images", res.Error, res.Stderr, len(res.Images))
	}
	for i, name := range []string{"plain", "settings", "alpha"} {
		saved, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Images[i].Data, saved) {
			rms, why := pngRMS(res.Images[i].Data, saved)
			t.Errorf("%s: the figure shown is not the PNG savefig wrote (RMS %g%s)", name, rms, why)
		}
	}
}

// Real matplotlib: what the subset it replaced could not do, the Agg backend, and the figure
// path's limits, which the host enforces whatever the guest sends.
func TestMatplotlib_api(t *testing.T) {
	ip, dir := newInterp(t)
	cases := []struct{ name, code, want string }{
		{"backend", "import matplotlib\nprint(matplotlib.get_backend().lower(), matplotlib.__version__)", "agg 3.11.2\n"},
		{"file object", "import io, matplotlib.pyplot as plt\nb = io.BytesIO()\nplt.plot([1, 2])\nplt.savefig(b, format='png')\nplt.close()\nprint(b.getvalue()[:4])", "b'\\x89PNG'\n"},
		{"svg and pdf", "import io, matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\nax.set_title('$\\\\alpha^2$')\nfig.savefig('f.svg'); fig.savefig('f.pdf')\nplt.close(fig)\nprint(open('f.svg').read().count('<svg') >= 1, open('f.pdf', 'rb').read(5))", "True b'%PDF-'\n"},
		{"log scale, errorbar, fill, lines, text", "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.errorbar([1, 2, 3], [1, 10, 100], yerr=[0.1, 1, 5], fmt='o')\nplt.yscale('log')\nplt.fill_between([1, 2, 3], [0.5, 5, 50], [2, 20, 200], alpha=0.2)\nplt.axhline(10, color='gray', linestyle='--')\nplt.axvline(2)\nplt.text(1.5, 20, 'note')\nplt.annotate('peak', xy=(3, 100), xytext=(2.5, 150), arrowprops={'arrowstyle': '->'})\nplt.xticks([1, 2, 3], ['one', 'two', 'three'])\nplt.xlim(0, 4)\nplt.savefig('log.png', dpi=80)\nplt.close()\nprint('ok')", "ok\n"},
		{"hist density", "import matplotlib.pyplot as plt\nfig, (a, b) = plt.subplots(1, 2, sharey=True)\na.barh(['x', 'y'], [2, 3], color='C2')\nn, edges, _ = b.hist([1, 2, 2, 3, 3, 3], bins=3, density=True)\nprint([round(float(v), 3) for v in n])\nplt.close('all')", "[0.25, 0.5, 0.75]\n"},
		{"beyond the old subset", `import numpy as np, pandas as pd, matplotlib.pyplot as plt, matplotlib.ticker as mt
plt.style.use('ggplot')
fig, axs = plt.subplots(2, 3, figsize=(12, 7))
axs[0, 0].imshow(np.arange(100).reshape(10, 10), cmap='viridis')
axs[0, 1].pie([3, 2, 1], labels=['a', 'b', 'c'], autopct='%1.0f%%')
axs[0, 2].violinplot([np.random.default_rng(1).normal(size=100)])
axs[1, 0].stackplot(range(5), [1, 2, 3, 2, 1], [2, 2, 2, 2, 2])
axs[1, 0].twinx().step(range(5), [5, 3, 4, 1, 2])
dates = pd.date_range('2024-01-01', periods=30)
axs[1, 1].plot(dates, np.arange(30))
axs[1, 1].yaxis.set_major_formatter(mt.StrMethodFormatter('{x:,.0f} u'))
axs[1, 2].boxplot([[1, 2, 3, 4, 10], [2, 3, 4]])
axs[1, 2].axvspan(0.5, 1.5, alpha=0.2)
cs = axs[1, 2].contour(np.random.default_rng(2).random((5, 5)))
fig.colorbar(axs[0, 0].images[0], ax=axs[0, 0])
fig.tight_layout()
fig.savefig('many.png')
plt.close('all')
plt.rcdefaults()
print('ok')`, "ok\n"},
		// Qhull writes its errors to os.devnull, which the guest has (/dev holds null only).
		{"triangulation and /dev/null", "import numpy as np, matplotlib.tri as mtri, os\nx, y = np.random.default_rng(0).random((2, 30))\nprint(len(mtri.Triangulation(x, y).triangles) > 0, os.listdir('/dev'), open(os.devnull, 'w').write('x'), repr(open(os.devnull).read()))", "True ['null'] 1 ''\n"},
		{"3D", "import matplotlib.pyplot as plt\nax = plt.figure().add_subplot(projection='3d')\nax.plot([0, 1], [0, 1], [0, 1])\nplt.savefig('3d.png'); plt.close('all')\nprint(type(ax).__name__)", "Axes3D\n"},
		{"pandas plot", "import pandas as pd, matplotlib.pyplot as plt\nax = pd.DataFrame({'a': [1, 3, 2], 'b': [2, 1, 3]}).plot(kind='bar')\nprint(type(ax).__name__)\nplt.close('all')", "Axes\n"},
		{"shown figure too big", "import matplotlib.pyplot as plt\nplt.figure(figsize=(100, 100), dpi=100)\ntry:\n    plt.show()\nexcept ValueError as e:\n    print('megapixels' in str(e))\nprint(plt.get_fignums())", "True\n[]\n"},
		{"forged figure: not a PNG", "import sys, base64\ntry:\n    sys.modules['wasmbox_driver']._host_call({'image': base64.b64encode(b'GIF89a....').decode()})\nexcept ValueError as e:\n    print('PNG' in str(e))", "True\n"},
		// A PNG header claiming 5000x5000: the host reads the size itself, never the guest's word.
		{"forged figure: too many pixels", "import sys, base64, struct, zlib\nihdr = struct.pack('>IIBBBBB', 5000, 5000, 8, 2, 0, 0, 0)\nchunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))\npng = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', ihdr) + chunk(b'IEND', b'')\ntry:\n    sys.modules['wasmbox_driver']._host_call({'image': base64.b64encode(png).decode()})\nexcept ValueError as e:\n    print('megapixels' in str(e))", "True\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, ip, tc.code)
			if res.Stdout != tc.want || res.Error != nil {
				t.Errorf("got %q %+v %s, want %q", res.Stdout, res.Error, res.Stderr, tc.want)
			}
			if len(res.Images) != 0 {
				t.Errorf("%d images returned, want none", len(res.Images))
			}
		})
	}
	for _, f := range []string{"log.png", "many.png", "3d.png"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !bytes.HasPrefix(b, pngMagic) {
			t.Errorf("%s: %v", f, err)
		}
	}

	// Figure.show() shows that figure; a figure that cannot be shown at the end of a cell is
	// reported and the cell still succeeds.
	res := run(t, ip, "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\nfig.show()\nplt.figure(figsize=(100, 100))")
	if res.Error != nil || len(res.Images) != 1 || !strings.Contains(res.Stderr, "not shown") {
		t.Errorf("Figure.show and an oversized open figure: %+v, %d images, stderr %q", res.Error, len(res.Images), res.Stderr)
	}

	res = run(t, ip, "import matplotlib.pyplot as plt\nfor i in range(12):\n    plt.figure(); plt.plot([i]); plt.show()")
	if len(res.Images) != MaxImages || res.Error == nil || !strings.Contains(res.Error.Message, "figures in one run") {
		t.Errorf("%d images, error %+v; want the cap %d and an error naming it", len(res.Images), res.Error, MaxImages)
	}
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
