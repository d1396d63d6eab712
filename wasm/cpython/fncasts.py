"""Fails a package build whose C code calls a function through a pointer of another signature.

On native targets a function cast to PyCFunction, getter or setter with fewer parameters than it
is called with works by accident of the calling convention. WebAssembly checks the signature of
every indirect call: the mismatch traps ("indirect call type mismatch"), the interpreter dies and
the session loses its state. The package is compiled with -Wcast-function-type-strict; this
script reads the compiler's warnings from the build log and judges each cast by the WebAssembly
signature the function is called with:

  - a cast to PyCFunction in a PyMethodDef is called as its METH_ flags say (METH_NOARGS, METH_O
    and METH_VARARGS with two arguments, METH_KEYWORDS or METH_FASTCALL with three, both with
    four, METH_METHOD with five);
  - a cast to any other function type is called as that type;
  - a cast to void (*)(void) is a generic pointer and is not judged by itself; the cast of it to
    another type on the same line (the idiom (PyCFunction)(void (*)(void))f) is judged with the
    function's own type;
  - a cast of a pointer held in a variable or field of a named function type (not of a function)
    converts a stored pointer back to its function's type and is not judged (the cast that
    stored it was);
  - --allow NAME:WHY: casts of the functions NAME (a regular expression searched in the cast's
    source), which the package stores under another type and casts back before every call (or
    never calls through that type), are accepted for the reason given.

Types are compared as WebAssembly sees them: pointers, int, long and Py_ssize_t are i32 on
wasm32, long long is i64, double f64, float f32, long double two i64s.

Usage: fncasts.py BUILD_DIR LOG [--allow NAME:WHY]...
"""
import collections
import pathlib
import re
import sys

WARNING = re.compile(
    r"^(?P<file>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+): warning: cast from '(?P<from>[^']*)'"
    r"(?: \(aka '(?P<from_aka>[^']*)'\))? to '(?P<to>[^']*)'(?: \(aka '(?P<to_aka>[^']*)'\))?"
    r" converts to incompatible function type", re.M)

# PyMethodDef flags -> how many pointer-sized arguments CPython passes.
FLAG_ARGS = [
    ({"METH_METHOD", "METH_FASTCALL", "METH_KEYWORDS"}, 5),
    ({"METH_FASTCALL", "METH_KEYWORDS"}, 4),
    ({"METH_VARARGS", "METH_KEYWORDS"}, 3),
    ({"METH_KEYWORDS"}, 3),
    ({"METH_FASTCALL"}, 3),
    ({"METH_NOARGS"}, 2),
    ({"METH_O"}, 2),
    ({"METH_VARARGS"}, 2),
]


# void (*)(void) as C prints it, and as C++ does.
GENERIC = ("void(*)(void)", "void(*)()")


def split_top(s):
    """Splits s at commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def wasm_type(c):
    c = c.strip()
    c = re.sub(r"\b(const|volatile|restrict|__restrict|signed)\b", "", c).strip()
    c = " ".join(c.split())
    if c == "void":
        return []
    if "*" in c or "(" in c or "[" in c:
        return ["i32"]
    if c in ("long long", "unsigned long long"):
        return ["i64"]
    if c == "double":
        return ["f64"]
    if c == "float":
        return ["f32"]
    if c == "long double":
        return ["i64", "i64"]
    return ["i32"]  # int, long, short, char, _Bool, enums, unsigned ...


def signature(fn):
    """'RET (*)(A, B)' -> (results, params) in WebAssembly types, or None if not understood."""
    fn = fn.strip()
    if not fn.endswith(")"):
        return None
    depth = 0
    for i in range(len(fn) - 1, -1, -1):
        if fn[i] == ")":
            depth += 1
        elif fn[i] == "(":
            depth -= 1
            if depth == 0:
                break
    params, head = fn[i + 1:-1], fn[:i].strip()
    if not head.endswith("(*)"):
        return None
    ret = head[:-3].strip()
    if params.strip() in ("", "void"):
        ps = []
    else:
        ps = []
        for p in split_top(params):
            if p == "...":
                return None
            ps += wasm_type(p)
    return (tuple(wasm_type(ret)), tuple(ps))


def flags_near(path, line):
    """The METH_ flags of the PyMethodDef entry the cast at path:line sits in."""
    try:
        lines = pathlib.Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return None
    text = ""
    for k in range(line - 1, min(line + 4, len(lines))):
        text += lines[k] + "\n"
        if "}" in lines[k]:
            break
    # Cython spells METH_FASTCALL __Pyx_METH_FASTCALL (the same flag on CPython 3.13).
    found = {f.removeprefix("__Pyx_") for f in re.findall(r"(?:\b|__Pyx_)METH_[A-Z]+\b", text)}
    return found or None


def statement(path, line):
    """The source from line to the end of its expression (a ';' or ','), at most three lines."""
    try:
        lines = pathlib.Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    text = ""
    for k in range(line - 1, min(line + 2, len(lines))):
        text += lines[k] + "\n"
        if ";" in lines[k] or "," in lines[k]:
            break
    return text


def main():
    build, log = sys.argv[1], sys.argv[2]
    allow = {}
    rest = sys.argv[3:]
    while rest:
        if rest[0] != "--allow" or len(rest) < 2 or ":" not in rest[1]:
            sys.exit("usage: fncasts.py BUILD_DIR LOG [--allow NAME:WHY]...")
        name, why = rest[1].split(":", 1)
        allow[name] = why
        rest = rest[2:]
    text = pathlib.Path(log).read_text(errors="replace")
    warnings, seen = [], set()
    for m in WARNING.finditer(text):
        where = (m["file"], int(m["line"]), int(m["col"]))
        if where not in seen:
            seen.add(where)
            warnings.append(m)
    # The first halves of double casts through void (*)(void), by file and line.
    to_generic = collections.defaultdict(list)
    for m in warnings:
        if (m["to_aka"] or m["to"]).replace(" ", "") in GENERIC:
            to_generic[(m["file"], m["line"])].append(m)
    bad, judged, allowed = [], collections.Counter(), collections.Counter()
    for m in warnings:
        to = m["to_aka"] or m["to"]
        if to.replace(" ", "") in GENERIC:
            judged["to void (*)(void)"] += 1
            continue
        origin = m
        if (m["from_aka"] or m["from"]).replace(" ", "") in GENERIC:
            halves = to_generic.get((m["file"], m["line"]), [])
            if len(halves) != 1:
                judged["stored pointer"] += 1  # a stored void (*)(void), or several on one line
                continue
            origin = halves[0]
        if "(*)" not in origin["from"] and (origin is m or m["to"] != "PyCFunction"):
            judged["stored pointer"] += 1
            continue
        path = m["file"] if m["file"].startswith("/") else str(pathlib.Path(build) / m["file"])
        src = signature(origin["from_aka"] or origin["from"])
        dst = signature(to)
        if src is None or dst is None:
            bad.append(f"{m['file']}:{m['line']}: cannot read the cast from {origin['from']} to {m['to']}")
            continue
        if m["to"] == "PyCFunction":
            flags = flags_near(path, int(m["line"]))
            if flags is None:
                bad.append(f"{m['file']}:{m['line']}: {origin['from']} cast to PyCFunction outside a method table")
                continue
            want = next((n for fs, n in FLAG_ARGS if fs <= flags), None)
            if want is None:
                bad.append(f"{m['file']}:{m['line']}: unknown method flags {sorted(flags)}")
                continue
            dst = (("i32",), ("i32",) * want)
            how = "|".join(sorted(flags))
        else:
            how = m["to"]
        if src == dst:
            judged["same signature on wasm32"] += 1
            continue
        text = statement(path, int(m["line"]))
        ok = [a for a in allow if re.search(a, text)]
        if ok:
            allowed[ok[0]] += 1
            continue
        bad.append(f"{m['file']}:{m['line']}: {origin['from']} is called as {how} "
                   f"({len(dst[1])} arguments and {len(dst[0])} results; the function has "
                   f"{len(src[1])} and {len(src[0])}): it would trap on wasm32")
    summary = ", ".join(f"{n} {k}" for k, n in sorted(judged.items())) or "none"
    print(f"fncasts: {len(warnings)} function casts ({summary}, "
          f"{sum(allowed.values())} allowed); {len(bad)} would trap", file=sys.stderr)
    for name, n in sorted(allowed.items()):
        print(f"fncasts: allowed {n} cast(s) of {name}: {allow[name]}", file=sys.stderr)
    if bad:
        print("\n".join(bad), file=sys.stderr)
        sys.exit(1)

if __name__ == "__main__":
    main()
