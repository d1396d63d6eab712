"""wasmbox's guest-side driver: runs each request's code in one persistent namespace.

The host and this driver talk over a private control file (/dev/wasmbox/ctl) that only this
driver can open; user code's stdout and stderr go straight to the host's capped buffers and
carry no framing, so nothing user code prints can be mistaken for a message. A message is a
ten-digit decimal length, a newline, and that many bytes of JSON.
"""

import ast
import builtins
import importlib.abc
import importlib.util
import io
import json
import linecache
import os
import sys
import traceback

CTL = "/dev/wasmbox/ctl"
HEADER = 11


def _read_exact(fd, n):
    chunks = []
    while n:
        b = os.read(fd, n)
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _recv(fd):
    head = _read_exact(fd, HEADER)
    if head is None:
        return None
    body = _read_exact(fd, int(head[:10]))
    if body is None:
        return None
    return json.loads(body)


def _send(fd, obj):
    body = json.dumps(obj, ensure_ascii=True).encode()
    data = b"%010d\n" % len(body) + body
    while data:
        n = os.write(fd, data)
        data = data[n:]


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


_ctl_fd = None


def _host_call(msg):
    """Asks the host for a service in the middle of a run (rendering a figure)."""
    _send(_ctl_fd, msg)
    reply = _recv(_ctl_fd)
    if reply is None:
        raise RuntimeError("wasmbox host went away")
    if "error" in reply:
        raise (ValueError if reply.get("type") == "ValueError" else RuntimeError)(reply["error"])
    return reply


def _patch_pyplot(module):
    import base64

    def render(spec):
        return base64.b64decode(_host_call({"render": spec})["png"])

    def display(spec):
        _host_call({"display": spec})

    module._render_hook = render
    module._display_hook = display


class _PostImport(importlib.abc.MetaPathFinder):
    """Adapts modules as they are imported: stdlib ones that assume an OS WASI does not
    provide, and wasmbox's matplotlib, which renders through the host."""

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


class Driver:
    def __init__(self):
        self.ns = {"__name__": "__main__", "__builtins__": builtins, "__doc__": None}
        self.cell = 0
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
        # Figures left open at the end of a cell are shown, as in a notebook.
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt._collect_open()

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


def main():
    global _ctl_fd
    os.symlink = _no_symlink
    fd = _ctl_fd = os.open(CTL, os.O_RDWR)
    try:
        os.chdir("/workspace")
    except OSError:
        pass
    sys.meta_path.insert(0, _PostImport())
    # wasmbox's own modules (matplotlib), then the workspace, as a notebook's cwd would be.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.append("/workspace")
    d = Driver()
    _send(fd, {"ready": True, "version": sys.version})
    while True:
        req = _recv(fd)
        if req is None:
            return
        res = d.run(req["code"], bool(req.get("script")))
        res["id"] = req["id"]
        _send(fd, res)


if __name__ == "__main__":
    main()
