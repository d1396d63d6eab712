package python

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// The seed examples of the README work with math/random in place of numpy.
func TestMatplotlib_seedExamples(t *testing.T) {
	ip, dir := newInterp(t)
	res := run(t, ip, `import math
import matplotlib.pyplot as plt
x = [i * 0.1 for i in range(100)]
y = [math.exp(-0.3 * t) * math.sin(2 * t) for t in x]
plt.figure(figsize=(8, 4))
plt.plot(x, y, 'b-', label='damped sine')
plt.plot(x, [math.exp(-0.3 * t) for t in x], 'r--', label='envelope')
plt.title('Damped sine wave'); plt.xlabel('time'); plt.ylabel('amplitude')
plt.legend(); plt.grid(True)
plt.savefig('wave.png')
plt.show()`)
	if res.Error != nil || len(res.Images) != 1 || !bytes.HasPrefix(res.Images[0].Data, pngMagic) {
		t.Fatalf("damped sine: %+v %s, %d images", res.Error, res.Stderr, len(res.Images))
	}
	saved, err := os.ReadFile(filepath.Join(dir, "wave.png"))
	if err != nil || !bytes.HasPrefix(saved, pngMagic) {
		t.Fatalf("savefig wrote no PNG: %v", err)
	}
	res = run(t, ip, `import random
random.seed(0)
fig, axs = plt.subplots(2, 2, figsize=(10, 8))
axs[0, 0].plot(range(10), [v * v for v in range(10)])
axs[0, 1].scatter([random.random() for _ in range(50)], [random.random() for _ in range(50)])
axs[1, 0].bar(['A', 'B', 'C'], [3, 1, 2])
axs[1, 1].hist([random.gauss(0, 1) for _ in range(500)], bins=20)
for ax, name in zip(axs.flat, ['line', 'scatter', 'bar', 'hist']):
    ax.set_title(name)
fig.suptitle('2x2')
plt.tight_layout()`)
	if res.Error != nil || len(res.Images) != 1 {
		t.Fatalf("2x2 grid left open is shown at the end of the cell: %+v %s, %d images", res.Error, res.Stderr, len(res.Images))
	}
	if res := run(t, ip, "len(plt._figures)"); res.Stdout != "0\n" {
		t.Errorf("figures were not closed after being shown: %q", res.Stdout)
	}
}

func TestMatplotlib_api(t *testing.T) {
	ip, dir := newInterp(t)
	cases := []struct{ name, code, want string }{
		{"file object", "import io, matplotlib.pyplot as plt\nb = io.BytesIO()\nplt.plot([1, 2])\nplt.savefig(b, format='png')\nplt.close()\nprint(b.getvalue()[:4])", "b'\\x89PNG'\n"},
		{"log scale, errorbar, fill, lines, text", "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.errorbar([1, 2, 3], [1, 10, 100], yerr=[0.1, 1, 5], fmt='o')\nplt.yscale('log')\nplt.fill_between([1, 2, 3], [0.5, 5, 50], [2, 20, 200], alpha=0.2)\nplt.axhline(10, color='gray', linestyle='--')\nplt.axvline(2)\nplt.text(1.5, 20, 'note')\nplt.annotate('peak', xy=(3, 100), xytext=(2.5, 150), arrowprops={})\nplt.xticks([1, 2, 3], ['one', 'two', 'three'])\nplt.xlim(0, 4)\nplt.savefig('log.png', dpi=80)\nplt.close()\nprint('ok')", "ok\n"},
		{"barh and hist density", "import matplotlib.pyplot as plt\nfig, (a, b) = plt.subplots(1, 2, sharey=True)\na.barh(['x', 'y'], [2, 3], color='C2')\nn, edges, _ = b.hist([1, 2, 2, 3, 3, 3], bins=3, density=True)\nprint([round(v, 3) for v in n])\nplt.close('all')", "[0.25, 0.5, 0.75]\n"},
		{"unsupported function", "import matplotlib.pyplot as plt\ntry:\n    plt.imshow([[1]])\nexcept NotImplementedError as e:\n    print('imshow' in str(e), 'supported' in str(e))", "True True\n"},
		{"unsupported keyword", "import matplotlib.pyplot as plt\ntry:\n    plt.plot([1], drawstyle='steps')\nexcept NotImplementedError as e:\n    print('drawstyle' in str(e))\nplt.close('all')", "True\n"},
		{"unsupported module", "try:\n    import matplotlib.animation\nexcept ImportError as e:\n    print('ImportError')", "ImportError\n"},
		{"generators and ranges", "import matplotlib.pyplot as plt\nplt.plot(range(5), (v * 2 for v in range(5)))\nplt.scatter((1, 2), [3, 4])\nplt.close()\nprint('ok')", "ok\n"},
		{"huge figure refused", "import matplotlib.pyplot as plt\nplt.figure(figsize=(1000, 1000), dpi=300)\nplt.plot([1, 2])\ntry:\n    plt.savefig('huge.png')\nexcept RuntimeError as e:\n    print('limit' in str(e))\nplt.close('all')", "True\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, ip, tc.code)
			if res.Stdout != tc.want || res.Error != nil {
				t.Errorf("got %q %+v %s, want %q", res.Stdout, res.Error, res.Stderr, tc.want)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(dir, "log.png")); err != nil || !bytes.HasPrefix(b, pngMagic) {
		t.Errorf("log.png: %v", err)
	}
	res := run(t, ip, "import matplotlib.pyplot as plt\nfor i in range(12):\n    plt.figure(); plt.plot([i]); plt.show()")
	if len(res.Images) != MaxImages || !strings.Contains(res.Stderr, "figures in one run") && res.Error == nil {
		t.Logf("stderr %q", res.Stderr)
	}
	if len(res.Images) != MaxImages {
		t.Errorf("%d images, want the cap %d", len(res.Images), MaxImages)
	}
}
