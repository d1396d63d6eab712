package python

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
)

// pkgModule is one test module of a package built into python.wasm, run with pytest inside the
// sandbox. pass: every test that runs must pass. The others fail partly for the reason in why;
// their counts are logged, not asserted. skip maps node ids (or their prefixes, relative to the
// package's parent directory) to why they cannot run in the sandbox: they are reported as
// skipped with that reason rather than left out. quick: in the part `make test` runs (a few
// minutes); `make pkgtests` runs all.
type pkgModule struct {
	name  string
	pass  bool
	quick bool
	why   string
	skip  map[string]string
	// timeout of one attempt when longer than the suites' 10 minutes (one run of pytest).
	timeout time.Duration
}

// pkgSuite is how a package's tests are run: as its own entry point (np.test(), pd.test()) runs
// them.
type pkgSuite struct {
	version string   // the file, relative to the package, that has its version
	config  string   // its pytest configuration file, relative to the package; "" for none
	args    []string // its markers, warning filters and options
}

var pkgSuites = map[string]pkgSuite{
	// np.test()'s markers and warning filters.
	"numpy": {version: "version.py", args: []string{"-m", "not slow",
		"-W", "ignore:Not importing directory", "-W", "ignore:numpy.dtype size changed",
		"-W", "ignore:numpy.ufunc size changed", "-W", "ignore:the matrix subclass is not",
		"-W", "ignore:Importing from numpy.matlib is"}},
	// pd.test()'s markers, with pandas' pyproject.toml (installed with it, found by pytest from
	// pd.test()): strict xfails, warnings as errors. The data files of pandas' tests are in
	// neither its sdist nor its wheels, so tests that read one are skipped, as with any
	// installed pandas (--no-strict-data-files).
	"pandas": {version: "_version_meson.py", config: "pyproject.toml",
		args: []string{"-m", "not slow and not network and not db", "--no-strict-data-files"}},
	// kiwisolver's tests are beside its package in the sdist; `make test` copies them into it,
	// and its metadata (its version is in its C++ module) beside it.
	"kiwisolver": {version: "../kiwisolver.dist-info/METADATA"},
	// contourpy's tests are beside its package in the sdist too; its conftest.py is theirs.
	"contourpy": {version: "_version.py"},
	// matplotlib's tests (with their baseline images) are installed with it; `make test` copies
	// them, and its _version.py, the rest being the zip's.
	"matplotlib": {version: "_version.py"},
}

// Why some tests are not run.
const (
	noFPExceptions = "wasm has no floating-point exception flags: an overflow only hardware detects " +
		"raises no FloatingPointError (numpy skips its other such tests on wasm itself)"
	replacedDup = "checks what fromfile does with os.dup's result; WASI has no dup, and this build's " +
		"numpy opens a second descriptor on the file's path instead"
	nativeExcel = "fails natively too, with openpyxl 3.1.5: an ExcelWriter with no sheet cannot save " +
		"(\"At least one sheet must be visible\")"
	nativeAppend = "fails natively too, with openpyxl 3.1.5: append with data_only=True keeps no values"
	noJinja2     = "DataFrame.style needs jinja2, which neither the sandbox nor the native run has"
	noJPEG       = "Pillow is built without libjpeg (no JPEG encoder or decoder in the sandbox)"
	noProcesses  = "runs a subprocess; WASI has no processes"
)

// pkgModules are numpy's own tests, from the same release as the numpy in python.wasm.
var pkgModules = []pkgModule{
	{name: "numpy._core.tests.test_multiarray", pass: true, skip: map[string]string{
		"numpy/_core/tests/test_multiarray.py::TestIO::test_fromfile_bad_dup": replacedDup,
	}},
	{name: "numpy._core.tests.test_umath", pass: true, skip: map[string]string{
		"numpy/_core/tests/test_umath.py::TestSpecialFloats::test_exp_exceptions": noFPExceptions,
		"numpy/_core/tests/test_umath.py::TestSpecialFloats::test_exp2":           noFPExceptions,
	}},
	{name: "numpy._core.tests.test_numeric", pass: true},
	{name: "numpy._core.tests.test_indexing", pass: true, quick: true},
	{name: "numpy._core.tests.test_dtype", pass: true},
	{name: "numpy._core.tests.test_ufunc", pass: true},
	{name: "numpy._core.tests.test_scalarmath", pass: true},
	{name: "numpy._core.tests.test_longdouble", pass: true},
	{name: "numpy._core.tests.test_getlimits", pass: true},
	{name: "numpy._core.tests.test_scalarprint", pass: true},
	{name: "numpy._core.tests.test_print", pass: true},
	{name: "numpy._core.tests.test_half", pass: true},
	{name: "numpy._core.tests.test_datetime", pass: true, quick: true},
	{name: "numpy._core.tests.test_einsum", pass: true},
	{name: "numpy._core.tests.test_nditer", pass: true},
	{name: "numpy._core.tests.test_regression", pass: true},
	{name: "numpy._core.tests.test_item_selection", pass: true},
	{name: "numpy._core.tests.test_shape_base", pass: true, quick: true},
	{name: "numpy._core.tests.test_arrayprint", pass: true},
	{name: "numpy._core.tests.test_casting_unittests", pass: true},
	{name: "numpy._core.tests.test_stringdtype", pass: true},
	{name: "numpy._core.tests.test_strings", pass: true},
	{name: "numpy._core.tests.test_umath_complex", pass: true},
	{name: "numpy._core.tests.test_extint128", pass: true},
	{name: "numpy._core.tests.test_mem_overlap", pass: true},
	{name: "numpy._core.tests.test_scalar_methods", pass: true},
	{name: "numpy._core.tests.test_records", pass: true},
	{name: "numpy._core.tests.test_numerictypes", pass: true},
	{name: "numpy._core.tests.test_function_base", pass: true},
	{name: "numpy._core.tests.test_api", pass: true},
	{name: "numpy.lib.tests.test_function_base", pass: true},
	{name: "numpy.lib.tests.test_io", pass: true},
	{name: "numpy.lib.tests.test_format", pass: true},
	{name: "numpy.lib.tests.test_loadtxt", pass: true},
	{name: "numpy.lib.tests.test_nanfunctions", pass: true},
	{name: "numpy.lib.tests.test_arraysetops", pass: true},
	{name: "numpy.lib.tests.test_histograms", pass: true},
	{name: "numpy.lib.tests.test_shape_base", pass: true},
	{name: "numpy.lib.tests.test_index_tricks", pass: true},
	{name: "numpy.linalg.tests.test_linalg", pass: true, quick: true},
	{name: "numpy.linalg.tests.test_regression", pass: true},
	{name: "numpy.random.tests.test_generator_mt19937", pass: true, quick: true},
	{name: "numpy.random.tests.test_generator_mt19937_regressions", pass: true},
	{name: "numpy.random.tests.test_random", pass: true},
	{name: "numpy.random.tests.test_randomstate", pass: true},
	{name: "numpy.random.tests.test_direct", pass: true},
	{name: "numpy.random.tests.test_smoke", pass: true},
	{name: "numpy.random.tests.test_seed_sequence", pass: true},
	{name: "numpy.polynomial.tests.test_polynomial", pass: true},
	{name: "numpy.polynomial.tests.test_chebyshev", pass: true},
	{name: "numpy.polynomial.tests.test_classes", pass: true, quick: true},
	{name: "numpy.fft.tests.test_pocketfft", pass: true, quick: true},
	{name: "numpy.fft.tests.test_helper", pass: true},
	{name: "numpy.ma.tests.test_core", pass: true},
	{name: "numpy.ma.tests.test_extras", pass: true, quick: true},

	// kiwisolver's own tests: its C++ throws for duplicate, unknown and unsatisfiable
	// constraints, which its wrappers catch and raise as Python exceptions.
	{name: "kiwisolver.tests.test_constraint", pass: true, quick: true},
	{name: "kiwisolver.tests.test_expression", pass: true, quick: true},
	{name: "kiwisolver.tests.test_solver", pass: true, quick: true},
	{name: "kiwisolver.tests.test_strength", pass: true, quick: true},
	{name: "kiwisolver.tests.test_term", pass: true, quick: true},
	{name: "kiwisolver.tests.test_variable", pass: true, quick: true},

	// contourpy's own tests: its C++ (pybind11) reports bad input with C++ exceptions. Not run:
	// test_config, test_filled, test_lines and test_renderer draw with matplotlib (not built
	// yet); test_codebase runs cppcheck and mypy as programs.
	{name: "contourpy.tests.test_array", pass: true, quick: true},
	{name: "contourpy.tests.test_build_config", pass: true, quick: true},
	{name: "contourpy.tests.test_chunk", pass: true, quick: true},
	{name: "contourpy.tests.test_constructor", pass: true, quick: true},
	{name: "contourpy.tests.test_convert", pass: true, quick: true},
	{name: "contourpy.tests.test_dechunk", pass: true, quick: true},
	{name: "contourpy.tests.test_enum", pass: true, quick: true},
	{name: "contourpy.tests.test_internal", pass: true, quick: true},
	{name: "contourpy.tests.test_minimal", pass: true, quick: true},
	{name: "contourpy.tests.test_misc", pass: true, quick: true},
	{name: "contourpy.tests.test_static", pass: true, quick: true},
	{name: "contourpy.tests.test_typecheck", pass: true, quick: true},
	{name: "contourpy.tests.test_z_interp", pass: true, quick: true},
	{name: "matplotlib.tests.test_lines", pass: true, quick: true},
	{name: "matplotlib.tests.test_marker", pass: true, quick: true},
	{name: "matplotlib.tests.test_legend", pass: true, quick: true},
	{name: "matplotlib.tests.test_text", pass: true},
	{name: "matplotlib.tests.test_colorbar", pass: true, quick: true},
	{name: "matplotlib.tests.test_image", pass: true, skip: map[string]string{
		"matplotlib/tests/test_image.py::test_imsave[jpg]":  noJPEG,
		"matplotlib/tests/test_image.py::test_imsave[jpeg]": noJPEG,
		"matplotlib/tests/test_image.py::test_jpeg_alpha":   noJPEG,
	}},
	{name: "matplotlib.tests.test_dates", pass: true, quick: true},
	{name: "matplotlib.tests.test_scale", pass: true, quick: true},
	{name: "matplotlib.tests.test_ticker", pass: true, skip: map[string]string{
		"matplotlib/tests/test_ticker.py::test_locale_comma": noProcesses,
	}},
	{name: "matplotlib.tests.test_patches", pass: true},
	{name: "matplotlib.tests.test_contour", pass: true, quick: true},
	{name: "matplotlib.tests.test_figure", pass: true},
	{name: "matplotlib.tests.test_axes", pass: true, timeout: 60 * time.Minute},

	// pandas' own tests, from the same release as the pandas in python.wasm.
	{name: "pandas.tests.frame.test_constructors", pass: true},
	{name: "pandas.tests.indexing.test_loc", pass: true},
	{name: "pandas.tests.indexing.test_iloc", pass: true, quick: true},
	{name: "pandas.tests.groupby.test_groupby", pass: true},
	{name: "pandas.tests.groupby.aggregate.test_aggregate", pass: true, quick: true},
	{name: "pandas.tests.reshape.test_pivot", pass: true, quick: true},
	{name: "pandas.tests.reshape.merge.test_merge", pass: true},
	{name: "pandas.tests.io.parser.test_python_parser_only", pass: true, quick: true},
	{name: "pandas.tests.io.parser.test_c_parser_only", pass: true},
	{name: "pandas.tests.io.parser.common.test_common_basic", pass: true, quick: true},
	{name: "pandas.tests.io.parser.test_parse_dates", pass: true},
	{name: "pandas.tests.io.parser.dtypes.test_dtypes_basic", pass: true},
	{name: "pandas.tests.io.parser.test_na_values", pass: true},
	{name: "pandas.tests.io.json.test_pandas", pass: true},
	{name: "pandas.tests.io.excel.test_writers", pass: true, skip: map[string]string{
		"pandas/tests/io/excel/test_writers.py::TestExcelWriterEngineTests::test_ExcelWriter_dispatch[OpenpyxlWriter-.xlsx]": nativeExcel,
		"pandas/tests/io/excel/test_writers.py::TestFSPath::test_excelwriter_fspath":                                         nativeExcel,
	}},
	{name: "pandas.tests.io.excel.test_openpyxl", pass: true, quick: true, skip: map[string]string{
		"pandas/tests/io/excel/test_openpyxl.py::test_engine_kwargs_append_data_only[True-0]": nativeAppend,
		"pandas/tests/io/excel/test_openpyxl.py::test_to_excel_with_openpyxl_engine":          noJinja2,
	}},
	{name: "pandas.tests.tools.test_to_datetime", pass: true},
	{name: "pandas.tests.resample.test_base", pass: true},
	{name: "pandas.tests.resample.test_resample_api", pass: true, quick: true},
	{name: "pandas.tests.window.test_rolling", pass: true, quick: true},
	{name: "pandas.tests.strings.test_strings", pass: true, quick: true},
}

//go:embed testdata/pkgtests.py
var pkgDriver string

// maxCrashes is how many times one module may kill the guest before its run is given up.
const maxCrashes = 20

// TestPackageTestSuites runs the test suites of the packages built into python.wasm (numpy,
// pandas) inside the sandbox, with pytest (testdata/pkgtests.py), one module per subtest: the
// quick ones, or all with WASMBOX_PACKAGE_TESTS_ALL=1 (`make pkgtests`). A test that kills the
// guest (a trap) is reported as crashed, and the module goes on in a new guest without the
// tests already run.
func TestPackageTestSuites(t *testing.T) {
	if raceEnabled {
		// The suites run Python inside the guest, where the race detector sees nothing it does
		// not see in the other tests, and it doubles their time: make test runs this test in a
		// go test of its own, without -race.
		t.Skip("run without -race (make test does)")
	}
	t.Parallel() // beside TestMatplotlib_corpus: each is mostly one guest on one core
	const env = "WASMBOX_PACKAGE_TESTS"
	src := testInputs(t, env, filepath.Join("deps", "pytest", "__init__.py"),
		"deps/ from wasm/cpython/testdeps.sh; `make test` sets it")
	testInputs(t, env, filepath.Join("numpy", "_core", "tests"), "numpy/ as installed, tests included; `make test` copies it")
	testInputs(t, env, filepath.Join("pandas", "tests"), "pandas/ as installed, tests included; `make test` copies it")
	testInputs(t, env, filepath.Join("kiwisolver", "tests"), "kiwisolver/ as installed, with its tests; `make test` copies it")
	testInputs(t, env, filepath.Join("contourpy", "tests"), "contourpy/ as installed, with its tests; `make test` copies it")
	testInputs(t, env, filepath.Join("matplotlib", "tests", "baseline_images"), "matplotlib's tests and baseline images; `make test` copies them")
	all := os.Getenv("WASMBOX_PACKAGE_TESTS_ALL") == "1"
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "pkgtests"), os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	// An engine of its own: numpy's tests allocate more than a session's default memory, and
	// the workspace holds numpy's and pandas' whole trees.
	limits := runtime.Limits{Timeout: 10 * time.Minute, MaxOutput: 1 << 20, Memory: 1 << 30,
		WorkspaceQuota: 1 << 30, WorkspaceEntries: 100_000}
	eng, err := New(t.Context(), WithPoolSize(0), WithLimits(limits))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(t.Context())
	ip, err := eng.New(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ip.Close()

	// The tests must be those of the packages in python.wasm.
	for _, pkg := range slices.Sorted(maps.Keys(pkgSuites)) {
		text, _ := os.ReadFile(filepath.Join(src, pkg, pkgSuites[pkg].version))
		want := ""
		// A version = "..." line, or a package's metadata.
		if m := regexp.MustCompile(`(?m)^(?:_*version_* ?= ?"([^"]+)"|Version: (\S+))$`).FindSubmatch(text); m != nil {
			want = string(m[1]) + string(m[2])
		}
		got := run(t, ip, "import "+pkg+"; print("+pkg+".__version__)", limits)
		if strings.TrimSpace(got.Stdout) != want {
			t.Fatalf("%s/%s is not the %s in python.wasm: its %s says %q, python.wasm's says %q %v",
				src, pkg, pkg, pkgSuites[pkg].version, want, strings.TrimSpace(got.Stdout), got.Error)
		}
	}

	// The packages whose tests run, and numpy._core, whose test helpers other numpy tests import.
	packages := []string{"numpy._core"}
	for _, m := range pkgModules {
		i := strings.Index(m.name, ".tests.")
		if i < 0 {
			t.Fatalf("%s: not in a tests package", m.name)
		}
		if pkg, _, _ := strings.Cut(m.name, "."); pkgSuites[pkg].version == "" {
			t.Fatalf("%s: pkgSuites has no entry for %s", m.name, pkg)
		}
		if !slices.Contains(packages, m.name[:i]) {
			packages = append(packages, m.name[:i])
		}
	}
	for _, m := range pkgModules {
		if !all && !m.quick {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			start := time.Now()
			l := limits
			if m.timeout > l.Timeout {
				l.Timeout = m.timeout
			}
			r := runPkgModule(t, ip, dir, m, packages, l)
			c := r.counts
			t.Logf("%s: %d passed, %d failed, %d errors, %d crashed, %d skipped, %d xfailed, %d xpassed, %d deselected (slow) in %s",
				m.name, c["passed"], c["failed"], c["error"], len(r.crashed), c["skipped"], c["xfailed"], c["xpassed"], r.deselect,
				time.Since(start).Round(time.Second))
			if len(r.skips) > 0 {
				var lines []string
				for why, n := range r.skips {
					lines = append(lines, fmt.Sprintf("%5d %s", n, why))
				}
				slices.Sort(lines)
				slices.Reverse(lines)
				t.Logf("skipped, by reason:\n%s", strings.Join(lines, "\n"))
			}
			bad := append(slices.Clone(r.problems), r.crashed...)
			if m.pass && (len(bad) > 0 || c["passed"] == 0) {
				t.Errorf("%s: %d failed, %d errors, %d crashed, %d passed; want all passing\n%s\npytest's report: %s", m.name,
					c["failed"], c["error"], len(r.crashed), c["passed"], strings.Join(bad, "\n"), tail(r.report, 20000))
			}
			if !m.pass {
				t.Logf("%s fails partly, as documented: %s\n%s", m.name, m.why, strings.Join(bad, "\n"))
			}
		})
	}
}

// pkgResult is what the runs of one test module reported, summed over attempts.
type pkgResult struct {
	counts   map[string]int // by pytest's outcome: passed, failed, error, skipped, xfailed, xpassed
	problems []string       // "outcome id: first line" of each failure and error
	skips    map[string]int // by reason
	crashed  []string       // "id: why" of each test the guest died in
	done     []string       // ids of the tests that reported
	deselect int            // by -m "not slow"
	report   string         // pytest's report of the last attempt
}

// runPkgModule runs one test module, in as many attempts as the tests that kill the guest
// require: each goes on without the tests that reported or crashed before.
func runPkgModule(t *testing.T, ip runtime.Interpreter, dir string, m pkgModule, packages []string, limits runtime.Limits) *pkgResult {
	t.Helper()
	r := &pkgResult{counts: map[string]int{}, skips: map[string]int{}, done: []string{}}
	skip := m.skip
	if skip == nil {
		skip = map[string]string{}
	}
	for {
		pkg, _, _ := strings.Cut(m.name, ".")
		suite := pkgSuites[pkg]
		config := ""
		if suite.config != "" {
			config = pkg + "/" + suite.config
		}
		conftest := pkg + ".conftest"
		if _, err := os.Stat(filepath.Join(dir, "pkgtests", pkg, "conftest.py")); err != nil {
			conftest = "" // kiwisolver has none
		}
		cfg, err := json.Marshal(map[string]any{"module": m.name, "packages": packages,
			"conftest": conftest, "config": config, "args": append([]string{}, suite.args...), "skip": skip, "leave_out": r.done})
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, "tmp", "results.jsonl"))
		res := run(t, ip, "import json\nCONFIG = json.loads("+strconv.Quote(string(cfg))+")\n"+pkgDriver, limits)
		results, _ := os.ReadFile(filepath.Join(dir, "tmp", "results.jsonl"))
		report, _ := os.ReadFile(filepath.Join(dir, "tmp", "report.txt"))
		r.report = string(report)
		last, ended, exit := r.attempt(results)
		if ended {
			// pytest's exit codes: 0 all passed, 1 some failed, 2 a collection error (counted
			// as an error), 5 no tests; 3 and 4 are pytest's own failures.
			if exit == 3 || exit == 4 {
				t.Errorf("%s: pytest failed (exit status %d)\n%s", m.name, exit, tail(r.report, 5000))
			}
			if res.Error != nil {
				t.Errorf("%s: pytest returned, then the run failed: %+v\n%s", m.name, res.Error, tail(res.Stderr, 3000))
			}
			return r
		}
		if res.Error == nil || res.Error.Kind == runtime.ErrTimeout || last == "" {
			t.Fatalf("%s: pytest did not finish; the last test started was %q\nerror: %+v\nstderr: %s\npytest's report: %s",
				m.name, last, res.Error, tail(res.Stderr, 3000), tail(r.report, 5000))
		}
		why, _, _ := strings.Cut(res.Error.Message, "\n")
		r.crashed = append(r.crashed, last+": "+why)
		r.done = append(r.done, last)
		if len(r.crashed) == maxCrashes {
			t.Errorf("%s: given up after %d crashes; the tests after %s were not run", m.name, maxCrashes, last)
			return r
		}
	}
}

// attempt adds one run's results file (testdata/pkgtests.py) to r. It returns the last test
// started and whether pytest returned, with its exit status.
func (r *pkgResult) attempt(results []byte) (last string, ended bool, exit int) {
	reported := map[string]bool{}
	for _, line := range strings.Split(string(results), "\n") {
		var ev struct {
			Start, ID, Outcome, Msg string
			Deselected              *int
			End                     *float64
			Exit                    int
		}
		if line == "" || json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		switch {
		case ev.Start != "":
			last = ev.Start
		case ev.Deselected != nil:
			r.deselect = max(r.deselect, *ev.Deselected)
		case ev.End != nil:
			ended, exit = true, ev.Exit
		case ev.Outcome != "":
			r.counts[ev.Outcome]++
			switch ev.Outcome {
			case "failed", "error":
				r.problems = append(r.problems, fmt.Sprintf("%s %s: %s", ev.Outcome, ev.ID, ev.Msg))
			case "skipped":
				r.skips[ev.Msg]++
			}
			if !reported[ev.ID] {
				reported[ev.ID] = true
				r.done = append(r.done, ev.ID)
			}
		}
	}
	return last, ended, exit
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
