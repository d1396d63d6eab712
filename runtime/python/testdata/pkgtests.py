# Runs one test module of a package built into python.wasm (numpy, pandas, kiwisolver) with pytest, inside the
# sandbox. pkgtests_test.go sends this file as the code of a run, after a line that sets CONFIG:
#   module     the test module, by its dotted name ("numpy._core.tests.test_umath")
#   packages   the packages whose tests directories are in the workspace copy
#   conftest   the package's top conftest module ("numpy.conftest"), "" when it has none
#   config     the package's pytest configuration file, relative to the copy, or ""
#   args       the package's other pytest arguments (markers, warning filters, its own options)
#   skip       {node id or prefix: why}: tests reported as skipped with that reason
#   leave_out  node ids not to run at all: those an earlier attempt ran, or crashed in
#
# What it writes, line by line so that it survives the guest's death (a trap):
#   /workspace/tmp/results.jsonl  {"start": id, "at": seconds since pytest started} as each test
#                                 starts; {"id", "outcome", "seconds", "msg"} per report that
#                                 pytest's summary counts; {"deselected": n}; {"end": seconds,
#                                 "exit": status} once pytest returns
#   /workspace/tmp/report.txt     pytest's own report (-v, native tracebacks)
import builtins
import contextlib
import errno
import importlib
import importlib.util
import json
import os
import sys
import time
import types

ROOT = "/workspace/pkgtests"
OUT = "/workspace/tmp"

if ROOT + "/deps" not in sys.path:
    sys.path.insert(0, ROOT + "/deps")


def is_test_file(path):
    """Whether path is a file of the workspace copy (tests and their helpers), not a library's."""
    return isinstance(path, str) and path.startswith(ROOT + "/") and not path.startswith(ROOT + "/deps/")


# An earlier run's test modules are forgotten: numpy's tests directories are not packages, so
# pytest imports their modules under their bare names (test_regression is in three of them),
# adding their directories to sys.path.
for name, m in list(sys.modules.items()):
    if is_test_file(getattr(m, "__file__", None)):
        del sys.modules[name]
sys.path[:] = [p for p in sys.path if p == ROOT + "/deps" or not p.startswith(ROOT + "/")]

# The packages were imported from the stdlib zip, which has no tests directories: each package
# whose tests run also looks in the workspace copy. Appended, so the code under test stays the
# zip's and only what the zip lacks (the tests) comes from the copy.
for pkg in CONFIG["packages"]:
    d = ROOT + "/" + pkg.replace(".", "/")
    m = importlib.import_module(pkg)
    if d not in m.__path__:
        m.__path__.append(d)

import pytest

# Modules the guest lacks which test modules import, often at the top for a few of their tests.
# A test module that imports one gets a stand-in instead (library code importing it still gets
# the ImportError users get): its attributes are placeholders, so the module imports (even "from
# ctypes import c_int" does), and only the tests that use a placeholder (call, index, subclass or
# read it) are lost: they raise Unavailable.
ABSENT = {
    "ctypes": "no _ctypes: WASI has no libffi",
    "mmap": "WASI preview 1 has no mmap",
    "multiprocessing": "WASI has no processes",
}


class Unavailable(ImportError):
    def __init__(self, module, what):
        super().__init__(f"{what} is a stand-in: {ABSENT[module]}")
        self.module = module


class Placeholder:
    def __init__(self, module, what):
        self._module, self._what = module, what

    def _fail(self, *args, **kwargs):
        raise Unavailable(self._module, self._what)

    def __getattr__(self, attr):
        raise Unavailable(self._module, self._what + "." + attr)

    __call__ = __getitem__ = __mul__ = __rmul__ = __iter__ = __mro_entries__ = _fail


class StandIn(types.ModuleType):
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Placeholder(self.__name__, self.__name__ + "." + attr)


def _stand_in_import(name, globals=None, locals=None, fromlist=(), level=0, _import=builtins.__import__):
    try:
        return _import(name, globals, locals, fromlist, level)
    except ImportError:
        top = name.partition(".")[0]
        if level == 0 and top in ABSENT and is_test_file((globals or {}).get("__file__")):
            return StandIn(top)
        raise


if not hasattr(builtins.__import__, "__wrapped_for_tests__"):
    _stand_in_import.__wrapped_for_tests__ = True
    builtins.__import__ = _stand_in_import


class NoDup(OSError):
    pass


# WASI has no dup: os.dup fails with ENOTSUP (numpy's tofile and fromfile, which used it, open a
# second descriptor on the file's path instead). Tests that dup fail the same way, with a type
# that says where the failure came from.
try:
    os.close(os.dup(0))
except OSError as e:
    if e.errno == errno.ENOTSUP:
        def _no_dup(fd, _errno=e.errno, _text=e.strerror):
            raise NoDup(_errno, _text)
        os.dup = _no_dup


def sandbox_limit(exc):
    """Why exc is the sandbox's limit rather than the package's fault, or None."""
    if isinstance(exc, Unavailable):
        return f"needs {exc.module} ({ABSENT[exc.module]})"
    if isinstance(exc, NoDup):
        return "needs os.dup (WASI has no dup)"
    if isinstance(exc, OSError) and "(WASI has no mmap)" in str(exc):  # wasmbox's own mmap module
        return "needs mmap (WASI preview 1 has no mmap)"
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").lstrip("_") in ABSENT:  # from library code
        return f"needs {exc.name.lstrip('_')} ({ABSENT[exc.name.lstrip('_')]})"
    if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        return "needs threads (WASI preview 1 has none)"
    return None


def first_line(rep):
    if isinstance(rep.longrepr, tuple):  # a skip: (path, line, reason)
        text = rep.longrepr[2]
    else:
        crash = getattr(rep.longrepr, "reprcrash", None)
        text = crash.message if crash else str(rep.longrepr)
    lines = [l.strip() for l in str(text).splitlines() if l.strip()]
    # A collection error's first line is pytest's "ImportError while importing ..."; its last
    # "E" line says what failed.
    errors = [l for l in lines if l.startswith("E ")]
    line = errors[-1][1:].strip() if errors and not hasattr(rep, "when") else (lines[0] if lines else "")
    return line[:300]


class Wasmbox:
    def __init__(self, results):
        self.results = results
        self.config = None

    def emit(self, **kw):
        self.results.write(json.dumps(kw) + "\n")

    def pytest_configure(self, config):
        self.config = config

    def pytest_collection_modifyitems(self, items):
        leave_out = set(CONFIG["leave_out"])
        items[:] = [i for i in items if i.nodeid not in leave_out]
        for item in items:
            for prefix, why in CONFIG["skip"].items():
                if item.nodeid == prefix or item.nodeid.startswith((prefix + "::", prefix + "[")):
                    item.add_marker(pytest.mark.skip(reason="wasmbox: " + why))

    def pytest_deselected(self, items):
        self.emit(deselected=len(items))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        rep = yield
        why = sandbox_limit(call.excinfo.value) if call.excinfo else None
        if why and rep.failed:
            path, line, _ = item.location
            rep.outcome, rep.longrepr = "skipped", (path, (line or 0) + 1, "wasmbox: " + why)
        return rep

    def pytest_runtest_logstart(self, nodeid, location):
        self.emit(start=nodeid, at=round(time.monotonic() - START, 3))

    def pytest_runtest_logreport(self, report):
        outcome = self.config.hook.pytest_report_teststatus(report=report, config=self.config)[0]
        if outcome:
            self.emit(id=report.nodeid, outcome=outcome, seconds=round(report.duration, 3),
                      msg=first_line(report) if outcome in ("failed", "error", "skipped") else "")

    def pytest_collectreport(self, report):
        if report.failed:
            self.emit(id=report.nodeid, outcome="error", msg=first_line(report))


# The package's top conftest.py is the workspace copy's, imported under its own name before
# pytest starts: pytest refuses a conftest whose module name (numpy.conftest) resolves to another
# file (the zip's, first on the package's __path__), and accepts one already imported from its
# path. Its paths are the copy's: pandas' datapath fixture looks for data files under it.
conftest = CONFIG["conftest"]
if conftest and conftest not in sys.modules:
    spec = importlib.util.spec_from_file_location(conftest, ROOT + "/" + conftest.replace(".", "/") + ".py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[conftest] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[conftest]
        raise

os.makedirs(OUT, exist_ok=True)
# Without a configuration file of the package's own, one in the workspace: looking for one up to
# / would fail (ENOTCAPABLE).
config = ROOT + "/" + CONFIG["config"] if CONFIG["config"] else "/workspace/pytest.ini"
if not CONFIG["config"]:
    with open(config, "w") as f:
        f.write("[pytest]\n")
START = time.monotonic()
with open(OUT + "/results.jsonl", "w", buffering=1) as results, \
        open(OUT + "/report.txt", "w", buffering=1) as report, contextlib.redirect_stdout(report):
    plugin = Wasmbox(results)
    # The module is given by its path, so that pytest loads the conftest.py files from the
    # package's down to the module's before it parses the command line (pandas' add options).
    # No faulthandler and capture through sys: both would dup file descriptors, which WASI
    # cannot. A given basetemp: pytest's own checks its owner with os.getuid, which WASI lacks.
    # A given log file: pytest's default, os.devnull, is outside the sandbox. Native tracebacks:
    # pytest's own style parses the test module's whole source for every entry of every failure
    # and xfail (seconds each for a 10,000-line module in wasm).
    args = [
        "-c", config, "--rootdir", ROOT, "--confcutdir", ROOT,
        "-p", "no:cacheprovider", "-p", "no:faulthandler", "-o", "log_file=" + OUT + "/pytest.log",
        "--capture=sys", "--basetemp", OUT + "/basetemp", "-v", "--tb=native", "-rfE",
        *CONFIG["args"],
        ROOT + "/" + CONFIG["module"].replace(".", "/") + ".py",
    ]
    try:
        status = pytest.main(args, plugins=[plugin])
    except Exception as e:
        # What pytest's own session end raises comes out of pytest.main: with pandas'
        # configuration (warnings as errors), an exception ignored in a __del__ after the last
        # test (a file a failed test left open). It is an error of the run, not the guest's death.
        plugin.emit(id="(pytest session)", outcome="error", msg=f"{type(e).__name__}: {e}"[:300])
        status = pytest.ExitCode.TESTS_FAILED
    plugin.emit(end=round(time.monotonic() - START, 1), exit=int(status))
