package python

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The packages linked into python.wasm (numpy, pandas, kiwisolver, contourpy, matplotlib, Pillow) and those in the stdlib zip import and
// work in a new interpreter.
func TestPackages_import(t *testing.T) {
	ip, _ := newInterp(t)
	cases := []struct{ name, code, want string }{
		{"numpy", "import numpy as np\nprint(np.__version__, np.arange(10).sum(), np.intp.__name__, np.dtype(int).name)", "2.5.5 45 int32 int32\n"},
		{"numpy built-in modules", "import numpy, sys\nprint('numpy._core._multiarray_umath' in sys.builtin_module_names)", "True\n"},
		{"pandas", "import pandas as pd\nprint(pd.__version__, pd.Series([1, 2, 3]).sum())", "3.1.1 6\n"},
		{"linalg", "import numpy as np\nprint(np.linalg.solve([[3, 1], [1, 2]], [9, 8]))", "[2. 3.]\n"},
		{"fft", "import numpy as np\nprint(np.fft.rfft([1, 2, 3, 4]).tolist())", "[(10+0j), (-2+2j), (-2+0j)]\n"},
		{"seeded generator", "import numpy as np\nprint(np.random.default_rng(42).integers(0, 100, 5))", "[ 8 77 65 43 43]\n"},
		{"legacy RandomState", "import numpy as np\nr = np.random.RandomState(1)\nprint(r.randint(0, 100, 3), r.multinomial(10, [0.5, 0.5]).sum(), np.random.default_rng(1).multinomial(10, [0.2, 0.8]).sum())", "[37 12 72] 10 10\n"},
		{"groupby", "import pandas as pd\ndf = pd.DataFrame({'k': ['a', 'b', 'a'], 'v': [1, 2, 3]})\nprint(df.groupby('k')['v'].sum().to_dict())", "{'a': 4, 'b': 2}\n"},
		{"datetime and time zones", "import pandas as pd\nprint(pd.Timestamp('2024-03-10 12:00', tz='America/New_York').tz_convert('UTC'))", "2024-03-10 16:00:00+00:00\n"},
		{"to_markdown (tabulate)", "import pandas as pd\nprint(pd.DataFrame({'a': [1]}).to_markdown(index=False))", "|   a |\n|----:|\n|   1 |\n"},
		{"sympy", "import sympy as sp\nx = sp.symbols('x')\nprint(sp.solve(x**2 - 4, x), sp.integrate(sp.sin(x), (x, 0, sp.pi)))", "[-2, 2] 2\n"},
		{"networkx", "import networkx as nx\ng = nx.path_graph(4)\nprint(nx.shortest_path(g, 0, 3))", "[0, 1, 2, 3]\n"},
		{"yaml", "import yaml\nprint(yaml.safe_load('a: [1, 2]'))", "{'a': [1, 2]}\n"},
		{"bs4", "from bs4 import BeautifulSoup\nprint(BeautifulSoup('<p>hi <b>there</b></p>', 'html.parser').b.text)", "there\n"},
		{"dateutil and pytz", "from dateutil import parser\nimport pytz\nd = parser.parse('2024-07-01 09:30')\nprint(pytz.timezone('Europe/Paris').localize(d).isoformat())", "2024-07-01T09:30:00+02:00\n"},
		{"mmap stand-in", "import errno, mmap\ntry:\n    mmap.mmap(-1, 16)\nexcept OSError as e:\n    print(isinstance(b'', mmap.mmap), e.errno == errno.ENOSYS, 'not supported' in str(e))", "False True True\n"},
		{"pandas warnings point at the caller", "import inspect, warnings, pandas as pd\nwith warnings.catch_warnings(record=True) as w:\n    warnings.simplefilter('always')\n    pd.to_datetime('13/01/2024')\nprint(w[0].category.__name__, w[0].filename == inspect.currentframe().f_code.co_filename, w[0].lineno)", "UserWarning True 4\n"},
		{"metadata", "import importlib.metadata as m\nprint(m.version('openpyxl'), m.version('tabulate'))", "3.1.5 0.10.0\n"},
		// kiwisolver's C++ throws; its wrappers catch and raise Python exceptions.
		{"kiwisolver (C++ exceptions)", "import importlib.metadata as m, kiwisolver as k\nx, y = k.Variable('x'), k.Variable('y')\n" +
			"s = k.Solver()\nc = x + y == 10\ns.addConstraint(c)\ns.addConstraint(x - y == 2)\nout = []\n" +
			"for f in (lambda: s.addConstraint(c), lambda: s.addConstraint(x == 100), lambda: s.removeConstraint(x == 5)):\n" +
			"    try:\n        f()\n    except (k.DuplicateConstraint, k.UnsatisfiableConstraint, k.UnknownConstraint) as e:\n" +
			"        out.append(type(e).__name__)\ns.updateVariables()\nprint(m.version('kiwisolver'), x.value(), y.value(), *out)",
			"1.5.1 6.0 4.0 DuplicateConstraint UnsatisfiableConstraint UnknownConstraint\n"},
		// pybind11 turns contourpy's C++ std::invalid_argument into ValueError.
		{"contourpy", "import contourpy, numpy as np\ng = contourpy.contour_generator(z=np.arange(16.).reshape(4, 4))\ntry:\n    g.filled(0.8, 0.2)\nexcept ValueError as e:\n    print(len(g.lines(5.5)), 'ValueError')", "1 ValueError\n"},
		{"Pillow", "import io, PIL, PIL.features\nfrom PIL import Image, ImageDraw\nim = Image.new('RGB', (40, 20), 'white')\nImageDraw.Draw(im).rectangle((5, 5, 15, 15), fill='red')\nb = io.BytesIO()\nim.save(b, 'PNG')\nprint(PIL.__version__, Image.open(io.BytesIO(b.getvalue())).getpixel((10, 10)), PIL.features.check('zlib'), PIL.features.check('jpg'))", "13.0.0 (255, 0, 0) True False\n"},
		{"matplotlib in the base image", "import sys\nprint('matplotlib.pyplot' in sys.modules)", "True\n"},
		{"seaborn", "import seaborn as sns, pandas as pd, matplotlib.pyplot as plt\nax = sns.barplot(data=pd.DataFrame({'k': ['a', 'b', 'a'], 'v': [1, 2, 3]}), x='k', y='v')\nprint(sns.__version__, len(ax.patches))\nplt.close('all')", "0.13.2 2\n"},
		{"matplotlib's dependencies", "import importlib.metadata as m\nprint(*(m.version(p) for p in ('fonttools', 'cycler', 'pyparsing', 'packaging', 'seaborn', 'pillow')))", "4.68.0 0.12.1 3.3.3 26.4 0.13.2 13.0.0\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, ip, c.code)
			if res.Error != nil || res.Stdout != c.want {
				t.Errorf("got %q, error %+v\n%s\nwant %q", res.Stdout, res.Error, res.Stderr, c.want)
			}
		})
	}
}

// numpy functions that natively take fewer parameters than they are called with (a trap on
// wasm32, which would kill the interpreter and lose the session) take the right ones: the
// session survives each and keeps its variables.
func TestPackages_signatures(t *testing.T) {
	ip, _ := newInterp(t)
	if res := run(t, ip, "kept = 41"); res.Error != nil {
		t.Fatal(res.Error)
	}
	cases := []struct{ name, code, want string }{
		{"copy of a scalar (METH_NOARGS)", "import copy, numpy as np\nprint(copy.copy(np.float64(1.5)), copy.deepcopy(np.int16(3)))", "1.5 3\n"},
		{"setting dtype (setter)", "import numpy as np\na = np.zeros(2, dtype=np.float32)\na.dtype = np.int32\nprint(a.dtype, a.tolist())", "int32 [0, 0]\n"},
		{"deleting dtype (setter)", "import numpy as np\ntry:\n    del np.zeros(2).dtype\nexcept AttributeError as e:\n    print(e)", "Cannot delete array dtype\n"},
		{"_get_castingimpl (METH_VARARGS|METH_KEYWORDS)", "import numpy as np\nfrom numpy._core._multiarray_umath import _get_castingimpl\nm = _get_castingimpl(type(np.dtype('f8')), type(np.dtype('i4')))\nprint(type(m).__name__, m._supports_unaligned)", "_BoundArrayMethod True\n"},
		{"_array_converter.scalar_input (getter)", "from numpy._core._multiarray_umath import _array_converter\nprint(_array_converter(1, [2]).scalar_input)", "(True, False)\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, ip, c.code)
			if res.Error != nil || res.Stdout != c.want {
				t.Errorf("got %q, error %+v\n%s\nwant %q", res.Stdout, res.Error, res.Stderr, c.want)
			}
		})
	}
	if res := run(t, ip, "print(kept + 1)"); res.Error != nil || res.Stdout != "42\n" {
		t.Errorf("the session lost its variables: %q %+v", res.Stdout, res.Error)
	}
}

// numpy's own file formats in the workspace: np.save and np.load, savez, tofile and fromfile on
// file names and on open files (numpy's C side reads and writes through a second descriptor,
// in step with the Python file's position).
func TestPackages_numpyFiles(t *testing.T) {
	ip, dir := newInterp(t)
	res := run(t, ip, `import numpy as np
a = np.arange(12, dtype=np.float64).reshape(3, 4)
np.save("a.npy", a)
np.savez_compressed("z.npz", a=a, b=a.T)
a.tofile("raw.bin")
with open("mixed.bin", "wb") as f:
    f.write(b"HEAD")
    a[0].tofile(f)
    f.write(b"TAIL")
with open("mixed.bin", "rb") as f:
    head = f.read(4)
    row = np.fromfile(f, dtype=np.float64, count=4)
    tail = f.read()
with open("a.npy", "rb") as f:
    same = np.array_equal(np.load(f), a)
z = np.load("z.npz")
print(np.array_equal(np.load("a.npy"), a), same, np.array_equal(z["b"], a.T),
      np.fromfile("raw.bin").reshape(3, 4)[2, 3], head, row.tolist(), tail)`)
	want := "True True True 11.0 b'HEAD' [0.0, 1.0, 2.0, 3.0] b'TAIL'\n"
	if res.Error != nil || res.Stdout != want {
		t.Fatalf("got %q, error %+v\n%s\nwant %q", res.Stdout, res.Error, res.Stderr, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "raw.bin")); err != nil || len(b) != 96 {
		t.Errorf("raw.bin: %d bytes, %v; want 96", len(b), err)
	}
}

// Files in the workspace go through pandas' readers and writers: CSV, JSON, and .xlsx through
// openpyxl.
func TestPackages_pandasFiles(t *testing.T) {
	ip, dir := newInterp(t)
	if err := os.WriteFile(filepath.Join(dir, "sales.csv"), []byte("region,month,amount\nnorth,2024-01,10\nsouth,2024-01,7\nnorth,2024-02,12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, ip, `import pandas as pd
df = pd.read_csv("sales.csv", parse_dates=["month"])
p = df.pivot_table(index="region", values="amount", aggfunc="sum")
p.to_excel("report.xlsx")
back = pd.read_excel("report.xlsx", index_col=0)
df.to_json("sales.json", orient="records")
print(back["amount"].to_dict(), len(pd.read_json("sales.json")), df["month"].dt.month.tolist())`)
	if want := "{'north': 22, 'south': 7} 3 [1, 1, 2]\n"; res.Error != nil || res.Stdout != want {
		t.Fatalf("got %q, error %+v\n%s\nwant %q", res.Stdout, res.Error, res.Stderr, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "report.xlsx")); err != nil || !bytes.HasPrefix(b, []byte("PK")) {
		t.Errorf("report.xlsx is not a zip (xlsx): %v", err)
	}
}

// The example of the server wasmbox replaces (testdata/gradio_example.py, also run over MCP)
// runs as written (numpy arrays into matplotlib), and pandas values plot too.
func TestPackages_gradioExample(t *testing.T) {
	ip, _ := newInterp(t)
	example, err := os.ReadFile(filepath.Join("testdata", "gradio_example.py"))
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, ip, string(example))
	if res.Error != nil || len(res.Images) != 1 || !bytes.HasPrefix(res.Images[0].Data, pngMagic) {
		t.Fatalf("gradio example: %+v %s, %d images", res.Error, res.Stderr, len(res.Images))
	}
	res = run(t, ip, `import pandas as pd
s = pd.Series([3, 1, 4, 1, 5], index=list("abcde"))
df = pd.DataFrame({"x": np.arange(5), "y": np.arange(5) ** 2})
plt.plot(df["x"], df["y"], "o-")
plt.bar(s.index, s.values)
plt.hist(np.random.default_rng(0).normal(size=200), bins=10)
plt.scatter(df.x, df.y)
plt.show()`)
	if res.Error != nil || len(res.Images) != 1 {
		t.Fatalf("pandas values: %+v %s, %d images", res.Error, res.Stderr, len(res.Images))
	}
}

// numpy's global random state is seeded when the base image is made; each new interpreter
// must draw its own numbers.
func TestPackages_randomPerInterpreter(t *testing.T) {
	a, _ := newInterp(t)
	b, _ := newInterp(t)
	code := "import numpy as np\nprint(np.random.rand(3).tolist())"
	ra, rb := run(t, a, code), run(t, b, code)
	if ra.Error != nil || rb.Error != nil || ra.Stdout == "" {
		t.Fatalf("%+v %s / %+v %s", ra.Error, ra.Stderr, rb.Error, rb.Stderr)
	}
	if ra.Stdout == rb.Stdout {
		t.Errorf("two new interpreters drew the same numbers from np.random: %s", ra.Stdout)
	}
}

// A session with pandas data survives a freeze and thaw into another interpreter.
func TestPackages_freezeThaw(t *testing.T) {
	a, _ := newInterp(t)
	res := run(t, a, `import numpy as np, pandas as pd, importlib.metadata
importlib.metadata.version("openpyxl")
df = pd.DataFrame({"k": list("abcab"), "v": np.arange(5.0)})
df["when"] = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
arr = np.random.default_rng(7).normal(size=(200, 200))`)
	if res.Error != nil {
		t.Fatalf("setup: %+v %s", res.Error, res.Stderr)
	}
	snap, err := freeze(a)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshot with pandas loaded and a 200x200 array: %d bytes", len(snap))
	b, _ := newInterp(t)
	if _, err := b.Thaw(context.Background(), bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	// importlib.metadata read the stdlib zip before the freeze (its cached zip must not be reused).
	res = run(t, b, `import importlib.metadata as m
print(df.groupby("k")["v"].sum().to_dict(), df["when"].iloc[-1].day, round(float(arr.std()), 2), m.version("tabulate"))`)
	if want := "{'a': 3.0, 'b': 5.0, 'c': 2.0} 5 1.0 0.10.0\n"; res.Error != nil || res.Stdout != want {
		t.Errorf("after thaw: %q %+v %s, want %q", res.Stdout, res.Error, res.Stderr, want)
	}
}
