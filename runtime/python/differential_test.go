package python

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
	"wasmbox/wasm/cpython"
)

// analysisDiffs lists the snippets of testdata/analysis whose output in the sandbox is known to
// differ from the same snippet run natively, with the cause. The test fails when a snippet not
// listed here differs, and when a listed one stops differing, so the list stays true; the README's
// table of differences follows it. Natively, numpy is the package index's x86_64 wheel: OpenBLAS
// for matrix products and LAPACK, SIMD kernels chosen at run time (AVX2 or AVX-512); the
// sandbox's numpy has no BLAS (numpy's own loops and its bundled lapack_lite) and no SIMD.
var analysisDiffs = map[string]analysisDiff{
	"01_read_csv_first_look": {cause: "32-bit pointers: info()'s memory usage counts 4 bytes per element of the str (object) " +
		"columns, not 8, and a smaller RangeIndex: 8.3 KB, natively 11.8 KB"},
	"26_int_dtypes_read_csv": {cause: "32-bit default int: astype(int) and np.asarray of a list of ints give int32; " +
		"read_csv's columns, sums and the index stay int64"},
	"27_numpy_default_int": {cause: "32-bit default int (np.int_ and np.intp are int32): np.arange(100000).sum() wraps " +
		"silently to 704982704 (natively 4999950000), as do np.arange(1, 21).prod(), cumsum and products past 2**31; " +
		"itemsize 4, np.iinfo(int).max 2147483647"},
	"28_linalg_solve": {cause: "no BLAS: A @ x sums in numpy's own loop order, not OpenBLAS's, so a residual of " +
		"-1.8e-15 lands in another element; the solution is identical to the last digit",
		nativeCPU: true},
	"29_linalg_inv_det": {cause: "lapack_lite instead of OpenBLAS: inv, det and slogdet differ in the last digits " +
		"(det 1.9715000000000005, natively 1.9715), as does the noise of C @ inv(C)"},
	"31_linalg_svd": {cause: "lapack_lite instead of OpenBLAS: the pseudo-inverse's entry that is zero in exact " +
		"arithmetic prints as -2.08e-17, natively -2.26e-19",
		nativeCPU: true},
	"38_polyfit": {cause: "lapack_lite instead of OpenBLAS (lstsq) and no BLAS (corrcoef's dot product): polyfit's " +
		"degree-1 coefficients and a correlation differ in the last 2 to 3 digits when printed in full",
		nativeCPU: true},
	"44_longdouble": {cause: "long double is IEEE binary128 on wasm32, x87 80-bit extended natively: np.longdouble " +
		"prints 34 digits, its eps is 1.9e-34 (natively 1.1e-19), and 1 + 1e-21 > 1 holds"},
	"45_fp_warnings": {cause: "no hardware floating-point exception flags in wasm: float arithmetic (log(0), 1.0/0, " +
		"sqrt(-1), exp overflow) gives the same values without a RuntimeWarning, and np.errstate(all='raise') " +
		"raises no FloatingPointError for it; what numpy checks in software (integer division and overflow, " +
		"linalg errors) warns and raises as natively (69 is identical)"},
	"52_corr_cov": {cause: "no BLAS: Series.corr and autocorr go through np.corrcoef, whose dot product sums in " +
		"another order: the last 1 to 2 digits differ (DataFrame.corr, pandas' own loop, is identical)",
		nativeCPU: true},
	"54_json_normalize": {cause: "order of ties: numpy's default sort (not stable) of float64 uses x86-simd-sort's " +
		"AVX2 kernel natively and the scalar introsort in the sandbox, so sort_values puts three countries " +
		"with an equal share of 0.5 in another order",
		nativeCPU: true},
	"61_memory_usage": {cause: "32-bit pointers and smaller Python objects: memory_usage() counts 4 bytes per str " +
		"element (600, natively 1200), deep=True smaller str objects, and the RangeIndex 72 bytes (natively 132)"},
	"62_legacy_random": {cause: "C long is 32 bits: the legacy RandomState.randint draws int32 by default, and " +
		"np.random.randint(0, 2**40) raises 'high is out of bounds for int32'; the drawn values are the same"},
	"66_unique_factorize": {cause: "32-bit intp: np.unique's inverse and counts, pd.factorize's codes and " +
		"np.searchsorted's result are int32"},
	"68_linalg_matrix_ops": {cause: "lapack_lite instead of OpenBLAS: det prints 0.23875611194419982, natively " +
		"0.2387561119441975 where OpenBLAS picks its AVX-512 kernels (on AVX2 machines the two agree)",
		nativeCPU: true},
	"67_describe_groups": {cause: "pandas' skew and kurt kernel is SSE2 (two lanes, xsimd) on x86_64 and scalar on " +
		"wasm32: Series.kurt() is 1.207075205766014, natively 1.2070752057660092 (skew happens to agree)"},
}

// analysisDiff is why a snippet's output differs.
type analysisDiff struct {
	cause string
	// nativeCPU is true when the native side depends on the CPU it runs on (OpenBLAS and numpy
	// choose their kernels at run time): on another machine both sides may agree, which the
	// test then logs instead of failing.
	nativeCPU bool
}

// analysisInputs are the files of testdata/analysis/inputs that a snippet finds in its working
// directory, as if the user had uploaded them. budget.xlsx is added by make_budget.py.
var analysisInputs = []string{"sales.csv", "customers.json", "sensor.csv", "survey.csv"}

// TestPackages_differential runs each analysis snippet of testdata/analysis in the sandbox and
// with the native CPython of the same version and the same releases of numpy, pandas and the
// pure-Python packages (wasm/cpython/native-analysis.sh installs them), each with the same input
// files, and compares their standard output byte for byte.
func TestPackages_differential(t *testing.T) {
	site := testInputs(t, "WASMBOX_NATIVE_ANALYSIS", filepath.Join("pandas", "__init__.py"),
		"the native packages (run wasm/cpython/native-analysis.sh DIR and set it to DIR; `make test` does)")
	native := nativeAnalysis{python: nativePython(t), site: site}

	snippets, err := filepath.Glob(filepath.Join("testdata", "analysis", "[0-9]*.py"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(snippets)
	if len(snippets) < 60 {
		t.Fatalf("found %d snippets in testdata/analysis, want at least 60", len(snippets))
	}
	names := map[string]bool{}
	for _, s := range snippets {
		names[strings.TrimSuffix(filepath.Base(s), ".py")] = true
	}
	for name := range analysisDiffs {
		if !names[name] {
			t.Errorf("analysisDiffs lists %s, which is not a snippet in testdata/analysis", name)
		}
	}

	// The native build has the extension modules whose libraries the host had when it was built.
	const needed = "import ctypes, zlib, bz2, lzma, sqlite3, pyexpat, decimal, zoneinfo\n"
	if out := native.transcript(t, "needed.py", needed, nil); out != "" {
		t.Fatalf("the native CPython %s lacks a module the packages need (%s); install libffi-dev, zlib1g-dev, "+
			"libbz2-dev, liblzma-dev, libsqlite3-dev and libexpat1-dev, remove its directory and rerun wasm/cpython/build.sh",
			native.python, strings.TrimSpace(out))
	}
	inputs := native.inputs(t)
	const versions = "import sys, numpy, pandas, sympy, openpyxl, tabulate\n" +
		"print(sys.version.split()[0], numpy.__version__, pandas.__version__, sympy.__version__, openpyxl.__version__, tabulate.__version__)\n"
	if got, want := sandboxTranscript(t, versions, nil), native.transcript(t, "versions.py", versions, nil); got != want {
		t.Fatalf("the sandbox and the native side do not run the same releases: sandbox %q, native %q", got, want)
	}

	identical := 0
	for _, path := range snippets {
		name := strings.TrimSuffix(filepath.Base(path), ".py")
		code, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			sandbox := sandboxTranscript(t, string(code), inputs)
			want := native.transcript(t, name+".py", string(code), inputs)
			diff, known := analysisDiffs[name]
			if sandbox == want {
				identical++
			}
			switch {
			case sandbox == want && known && diff.nativeCPU:
				t.Logf("%s agrees with native CPython on this CPU (listed as: %s)", name, diff.cause)
			case sandbox == want && known:
				t.Errorf("%s now prints the same as native CPython; remove it from analysisDiffs (listed as: %s)", name, diff.cause)
			case sandbox != want && !known:
				t.Errorf("%s prints differently in the sandbox (- native, + sandbox):\n%s", name, lineDiff(want, sandbox))
			case sandbox != want:
				t.Logf("known difference: %s\n%s", diff.cause, lineDiff(want, sandbox))
			}
		})
	}
	t.Logf("%d snippets, %d identical to native CPython, %d listed as different", len(snippets), identical, len(analysisDiffs))
}

// sandboxTranscript runs code as a script in a new interpreter whose workspace holds inputs,
// and returns what [transcript] makes of it.
func sandboxTranscript(t *testing.T, code string, inputs map[string][]byte) string {
	t.Helper()
	ip, dir := newInterp(t)
	writeFiles(t, dir, inputs)
	res, err := ip.Run(t.Context(), runtime.Request{Code: code, Language: runtime.Python, Script: true,
		Limits: runtime.Limits{Timeout: 5 * time.Minute, MaxOutput: 1 << 20}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Truncated {
		t.Fatal("the sandbox's output was truncated at 1 MiB")
	}
	raised := ""
	if res.Error != nil {
		raised = lastLine(res.Stderr)
		if res.Error.Kind != runtime.ErrException {
			raised = fmt.Sprintf("%s: %s", res.Error.Kind, res.Error.Message)
		}
	}
	return transcript(res.Stdout, raised)
}

// transcript is what the table compares: standard output, then, when the snippet failed, the
// exception it ended with (the last line of its traceback). Standard error is not compared
// otherwise: warnings name file paths, which differ.
func transcript(stdout, raised string) string {
	if raised == "" {
		return stdout
	}
	return stdout + "--- raised: " + raised + "\n"
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// nativeAnalysis runs snippets with the native CPython build and the packages that
// native-analysis.sh laid out in site.
type nativeAnalysis struct {
	python, site string
}

// nativePython finds the native CPython that wasm/cpython/core.sh builds (its build tree, which
// has every stdlib extension module the packages import), in the cache directory lib.sh uses.
func nativePython(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache")
	}
	pattern := filepath.Join(cache, "wasmbox", "python-"+cpython.Version+"-native-*", "build", "python")
	found, _ := filepath.Glob(pattern)
	if len(found) == 0 {
		t.Fatalf("no native CPython %s at %s; wasm/cpython/build.sh builds it", cpython.Version, pattern)
	}
	// Several builds may be cached (one per toolchain); the newest is the one build.sh used last.
	sort.Slice(found, func(i, j int) bool { return modTime(found[i]).After(modTime(found[j])) })
	return found[0]
}

func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// inputs reads the input files and makes budget.xlsx with the native openpyxl, as a spreadsheet
// made elsewhere and uploaded would be.
func (n nativeAnalysis) inputs(t *testing.T) map[string][]byte {
	t.Helper()
	dir := filepath.Join("testdata", "analysis", "inputs")
	files := map[string][]byte{}
	for _, name := range analysisInputs {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	maker, err := os.ReadFile(filepath.Join(dir, "make_budget.py"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if out := n.run(t, work, "make_budget.py", string(maker)); out != "" {
		t.Fatalf("make_budget.py: %s", out)
	}
	b, err := os.ReadFile(filepath.Join(work, "budget.xlsx"))
	if err != nil {
		t.Fatalf("make_budget.py made no budget.xlsx: %v", err)
	}
	files["budget.xlsx"] = b
	return files
}

// transcript runs code as the script file name in a new directory holding inputs and returns
// what [transcript] makes of it.
func (n nativeAnalysis) transcript(t *testing.T, name, code string, inputs map[string][]byte) string {
	t.Helper()
	work := t.TempDir()
	writeFiles(t, work, inputs)
	return n.run(t, work, name, code)
}

// run runs code as the script file name in dir. The environment is the guest's where it matters
// to output: UTF-8, the time zone UTC (the guest has no local time zone), no user site.
func (n nativeAnalysis) run(t *testing.T, dir, name, code string) string {
	t.Helper()
	writeFiles(t, dir, map[string][]byte{name: []byte(code)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.python, "-s", name)
	cmd.Dir = dir
	cmd.Env = []string{
		"PYTHONPATH=" + n.site + string(os.PathListSeparator) + filepath.Join(n.site, "pure"),
		"HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8", "PYTHONUTF8=1", "PYTHONDONTWRITEBYTECODE=1", "TZ=UTC",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	raised := ""
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok || ctx.Err() != nil {
			t.Fatalf("native %s: %v\n%s", name, err, stderr.String())
		}
		raised = lastLine(stderr.String())
	}
	return transcript(stdout.String(), raised)
}

// lineDiff shows how got differs from want line by line: "-" lines are only in want, "+" lines
// only in got, with up to two equal lines of context around each change.
func lineDiff(want, got string) string {
	a := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	b := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var ops []line
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, line{' ', a[i]})
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			ops = append(ops, line{'+', b[j]})
			j++
		default:
			ops = append(ops, line{'-', a[i]})
			i++
		}
	}
	const around = 2
	near := func(k int) bool {
		for d := -around; d <= around; d++ {
			if k+d >= 0 && k+d < len(ops) && ops[k+d].op != ' ' {
				return true
			}
		}
		return false
	}
	var sb strings.Builder
	skipped := 0
	for k, l := range ops {
		if !near(k) {
			skipped++
			continue
		}
		if skipped > 0 {
			fmt.Fprintf(&sb, "  ... %d equal lines\n", skipped)
			skipped = 0
		}
		fmt.Fprintf(&sb, "%c %s\n", l.op, l.text)
	}
	if skipped > 0 {
		fmt.Fprintf(&sb, "  ... %d equal lines\n", skipped)
	}
	return sb.String()
}
