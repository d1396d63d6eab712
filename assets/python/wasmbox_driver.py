"""wasmbox's guest-side driver: runs each request's code in one persistent namespace.

CPython is built as a WASI reactor: wasmbox's entry (wasm/cpython/reactor.c) imports this
module once, then the host calls handle() with each request (JSON) and gets its response (JSON)
as the return value. Nothing passes through files or output streams: user code's stdout and
stderr go straight to the host's capped buffers, and a run is over when handle returns, which
user code cannot fake. In the middle of a run, the driver asks the host for services (rendering
a figure) through the built-in module _wasmbox.

Between requests the interpreter's whole state is its linear memory, which the host can save
and restore (a base image made after import, and frozen sessions); "restored" tells the driver
it woke up in a new instance.
"""

import ast
import builtins
import collections
import importlib.abc
import importlib.util
import io
import json
import linecache
import os
import sys
import traceback

import _wasmbox

def _stream(fd):
    return io.TextIOWrapper(
        io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
        line_buffering=False, write_through=False)


def _patch_selector_events(module):
    # asyncio's event loop wakes itself through a socketpair; WASI has no sockets. A guest has
    # no other threads or signal handlers that would need the wake-up, so do without it.
    cls = module.BaseSelectorEventLoop

    def _make_self_pipe(self):
        self._ssock = self._csock = None

    cls._make_self_pipe = _make_self_pipe
    cls._close_self_pipe = lambda self: None
    cls._write_to_self = lambda self: None


def _host_call(msg):
    """Asks the host for a service in the middle of a run (rendering a figure)."""
    reply = json.loads(_wasmbox.call(json.dumps(msg, ensure_ascii=True).encode()))
    if "error" in reply:
        raise (ValueError if reply.get("type") == "ValueError" else RuntimeError)(reply["error"])
    return reply


# Figures a run shows go to the host as PNG bytes, at most this large (the host checks again:
# runtime/python/figures.go); savefig into the workspace is bounded by memory and disk only.
MAX_FIGURE_PIXELS = 4000 * 4000
MAX_FIGURE_BYTES = 8 << 20


def _show_figure(fig):
    """Renders fig with Agg and hands the PNG to the host, which returns it with the run."""
    import base64
    import matplotlib
    dpi = matplotlib.rcParams["savefig.dpi"]
    if dpi == "figure":
        dpi = fig.dpi
    w, h = fig.get_size_inches() * dpi
    if not (w * h <= MAX_FIGURE_PIXELS):  # also NaN
        raise ValueError(
            "figure %s is %.0fx%.0f pixels; a figure shown is limited to %d megapixels "
            "(lower figsize or dpi, or write it to a file with savefig)"
            % (fig.number, w, h, MAX_FIGURE_PIXELS // 1000000))
    buf = io.BytesIO()
    # The bytes savefig writes to a file: a run that saves the figure it shows returns it once.
    fig.savefig(buf, format="png")
    png = buf.getvalue()
    if len(png) > MAX_FIGURE_BYTES:
        raise ValueError(
            "figure %s is a %.1f MB PNG; a figure shown is limited to %d MB (write it to a file "
            "with savefig)" % (fig.number, len(png) / 1e6, MAX_FIGURE_BYTES >> 20))
    _host_call({"image": base64.b64encode(png).decode("ascii")})


def _show_open(plt, errors):
    """Shows every open figure, in order, and closes it (a notebook's show). With errors false
    the first failure is raised; otherwise each is reported on stderr and the rest go on."""
    try:
        for num in plt.get_fignums():
            fig = plt.figure(num)
            try:
                _show_figure(fig)
            except Exception as e:
                if not errors:
                    raise
                sys.stderr.write("figure %s not shown: %s\n" % (num, e))
            finally:
                plt.close(fig)
    finally:
        if errors:
            plt.close("all")


def _patch_pyplot(plt):
    """plt.show() and Figure.show() display (and close) figures as a notebook does; the
    backend is Agg, whose own show only warns that it cannot."""
    from matplotlib.figure import Figure

    def show(*args, **kwargs):
        _show_open(plt, errors=False)

    def figure_show(self, warn=True):
        try:
            _show_figure(self)
        finally:
            plt.close(self)

    plt.show = show
    Figure.show = figure_show


class _PostImport(importlib.abc.MetaPathFinder):
    """Adapts modules as they are imported: stdlib ones that assume an OS WASI does not
    provide, and matplotlib's pyplot, whose figures are shown by returning them to the host."""

    patches = {"asyncio.selector_events": _patch_selector_events, "matplotlib.pyplot": _patch_pyplot}

    def find_spec(self, name, path, target=None):
        patch = self.patches.get(name)
        if patch is None:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return None

            def exec_module(self, module):
                exec_module(module)
                patch(module)

        spec.loader = Loader()
        return spec


# The source of the most recent cells stays in linecache for tracebacks (a function defined
# cells ago shows its lines); older cells' source is dropped, so a long session does not keep
# every cell it ever ran in its memory and snapshots.
CELLS_KEPT = 256
CELL_BYTES_KEPT = 4 << 20


class Driver:
    def __init__(self):
        self.ns = {"__name__": "__main__", "__builtins__": builtins, "__doc__": None}
        self.cell = 0
        self.cells = collections.deque()  # (name, size) of the cells in linecache, oldest first
        self.cell_bytes = 0
        self.stdout = sys.stdout = sys.__stdout__ = _stream(1)
        self.stderr = sys.stderr = sys.__stderr__ = _stream(2)
        sys.stdin = sys.__stdin__ = io.StringIO("")
        sys.argv = [""]

    def _streams(self):
        # A previous cell may have closed or replaced the streams; each run starts with working ones.
        if getattr(sys.stdout, "closed", True):
            sys.stdout = self.stdout = _stream(1)
        if getattr(sys.stderr, "closed", True):
            sys.stderr = self.stderr = _stream(2)

    def _flush(self):
        for s in (sys.stdout, sys.stderr, self.stdout, self.stderr):
            try:
                s.flush()
            except Exception:
                pass

    def run(self, code, script=False):
        self.cell += 1
        name = "<cell-%d>" % self.cell
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        self.cells.append((name, len(code)))
        self.cell_bytes += len(code)
        while len(self.cells) > 1 and (len(self.cells) > CELLS_KEPT or self.cell_bytes > CELL_BYTES_KEPT):
            old, size = self.cells.popleft()
            linecache.cache.pop(old, None)
            self.cell_bytes -= size
        self._streams()
        try:
            try:
                tree = ast.parse(code, name, "exec")
                last = None
                if not script and tree.body and isinstance(tree.body[-1], ast.Expr):
                    last = ast.Interactive(body=[tree.body.pop()])
                exec(compile(tree, name, "exec"), self.ns)
                if last is not None:
                    # "single" mode shows the value through sys.displayhook, like a REPL cell.
                    exec(compile(last, name, "single"), self.ns)
                self._figures()
                return {"status": "ok"}
            finally:
                self._flush()
        except SystemExit as e:
            code = e.code
            if code is None:
                status = 0
            elif isinstance(code, int):
                status = code
            else:
                print(code, file=sys.stderr)
                status = 1
            self._flush()
            return {"status": "exit", "exit_code": status}
        except BaseException as e:  # noqa: B036 - everything user code raises is a result
            try:
                self._figures()  # a failed cell still shows (and closes) its figures
            except Exception:
                pass
            return self._exception(e)

    def _figures(self):
        # Figures left open at the end of a cell are shown, as in a notebook, and closed.
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            _show_open(plt, errors=True)

    def _exception(self, e):
        tb = e.__traceback__
        # Drop the driver's own frames so the traceback starts in the user's cell.
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        try:
            if isinstance(e, SyntaxError):
                lines = traceback.format_exception_only(type(e), e)
            else:
                lines = traceback.format_exception(type(e), e, tb)
            sys.stderr.write("".join(lines))
        except BaseException:
            sys.__stderr__.write("%s: %s\n" % (type(e).__name__, e))
        self._flush()
        try:
            msg = str(e)
        except BaseException:
            msg = "<unprintable>"
        return {"status": "exception", "type": type(e).__name__, "message": msg[:1000]}


def _no_symlink(*args, **kwargs):
    # The host refuses them whatever the guest does (EPERM); this only words it.
    raise PermissionError(1, "symbolic links are not supported in the workspace")


# Modules most cells use, imported once into the base image so a new interpreter has them.
WARM = ("json", "re", "datetime", "collections", "math", "random", "itertools", "functools",
        "statistics", "decimal", "fractions", "string", "textwrap", "csv", "io", "copy", "dataclasses",
        "enum", "typing", "pathlib", "base64", "hashlib", "struct", "heapq", "bisect", "operator",
        "uuid", "tempfile", "zoneinfo", "pprint", "numpy", "pandas", "openpyxl", "tabulate",
        "matplotlib.pyplot")


def _forget_metadata_zips():
    """importlib.metadata keeps the zips it read (the stdlib zip, which holds the packages'
    *.dist-info) open in a cache: tabulate reads its own version at import, networkx its
    backends. Their descriptors do not survive a memory image, so the cache is emptied."""
    md = sys.modules.get("importlib.metadata")
    if md is not None:
        md.FastPath.__new__.cache_clear()


def _warm_pyplot():
    """Draws one small figure into the base image, so a session's first figure finds what the
    first draw imports and caches (the PNG writer, the tick and text machinery, the font
    lookup) already there. The fonts it opened are let go: an FT2Font reads its file through
    an open descriptor, and descriptors do not survive a memory image."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    fig, ax = plt.subplots()
    try:
        ax.plot([0, 1, 2], [0, 1, 4], label="$x^2$")
        ax.set_title("warm")
        ax.set_xlabel("x")
        ax.legend()
        fig.savefig(io.BytesIO(), format="png")
    finally:
        plt.close(fig)
    import matplotlib.font_manager
    import matplotlib.mathtext
    matplotlib.mathtext.MathTextParser._parse_cached.cache_clear()
    matplotlib.font_manager._get_font.cache_clear()


def _restored(files):
    """Makes an interpreter woken from a memory image its own: fresh random state, and files
    that were open when the image was made (their descriptors did not survive) closed."""
    import random
    random.seed()
    _forget_metadata_zips()
    np = sys.modules.get("numpy")
    if np is not None:
        # numpy's global RandomState was seeded when the image was made: every session would
        # draw the same numbers from np.random.rand() without this.
        np.random.seed()
    import tempfile
    tempfile._name_sequence = None
    global _open_at_freeze
    closed = []
    if not files:
        return closed
    if _open_at_freeze is not None:
        # The freeze that made this image found them (walking every object takes ~20 ms).
        held, _open_at_freeze = _open_at_freeze, None
    else:
        import gc
        held = gc.get_objects()
    for o in held:
        try:
            if _holds_descriptor(o):
                closed.append("sqlite3 connection" if not isinstance(o, io.FileIO) else str(o.name))
                o.close()
        except Exception:
            pass
    return closed


def _holds_descriptor(o):
    """Whether o is an open file or sqlite3 connection, whose descriptor an image loses."""
    if isinstance(o, io.FileIO):
        return not o.closed and o.fileno() > 2
    if type(o).__name__ == "Connection" and type(o).__module__ == "sqlite3":
        try:
            o.in_transaction  # raises on a closed connection
            return True
        except Exception:
            return False
    return False


# What held descriptors when the last freeze ran, so that the image it made wakes up knowing
# what to close. None once a run follows (the interpreter went on: the list would keep what it
# names alive, and the next freeze makes a new one).
_open_at_freeze = None


def _freeze():
    """Writes out what open files hold in their buffers, before the interpreter is saved, and
    notes which objects hold descriptors (see _restored)."""
    global _open_at_freeze
    import gc
    held = []
    for o in gc.get_objects():
        try:
            if isinstance(o, (io.BufferedWriter, io.BufferedRandom, io.TextIOWrapper)) and not o.closed:
                o.flush()
            elif _holds_descriptor(o):
                held.append(o)
        except Exception:
            pass
    _open_at_freeze = held


def _init():
    os.symlink = _no_symlink
    try:
        os.chdir("/workspace")
    except OSError:
        pass
    sys.meta_path.insert(0, _PostImport())
    # The workspace is on sys.path, as a notebook's cwd would be.
    sys.path.append("/workspace")
    for name in WARM:
        try:
            __import__(name)
        except Exception:
            pass
    try:
        _warm_pyplot()
    except Exception:
        pass
    # Nothing may stay open in the base image: descriptors do not survive into the
    # interpreters made from it.
    _forget_metadata_zips()
    import gc
    gc.collect()
    # What the base image holds lives as long as the interpreter: the collector need not walk
    # it again in every full collection a session makes (55 ms each with the packages).
    gc.freeze()
    return Driver()


_driver = _init()


def handle(req):
    """Runs one request and returns its response (both JSON)."""
    global _open_at_freeze
    try:
        msg = json.loads(req)
        op = msg.get("op", "run")
        if op == "run":
            _open_at_freeze = None
            res = _driver.run(msg["code"], bool(msg.get("script")))
        elif op == "hello":
            res = {"version": sys.version}
        elif op == "restored":
            res = {"closed": _restored(bool(msg.get("files", True)))}
        elif op == "freeze":
            _freeze()
            res = {}
        else:
            res = {"status": "error", "message": "unknown op %r" % op}
        res["id"] = msg.get("id")
    except BaseException as e:  # noqa: B036 - the host must always get an answer
        res = {"status": "error", "message": "%s: %s" % (type(e).__name__, e)}
    return json.dumps(res, ensure_ascii=True).encode()
