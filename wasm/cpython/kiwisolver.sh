#!/usr/bin/env bash
# Builds kiwisolver (the constraint solver matplotlib's layout engine uses) for wasm32-wasi
# against the CPython core (core.sh), as objects to be linked statically into python.wasm by
# build.sh: its extension module kiwisolver._cext becomes a built-in module.
#
# Pinned inputs (sha256 checked on every use):
#   kiwisolver 1.5.1  sdist from the Python package index
#   cppy       1.3.1  py3-none-any wheel (header-only C++ helpers kiwisolver compiles with)
#
# How: kiwisolver's setup.py names one extension from seven C++ sources; they are compiled here
# directly with clang++-16 for wasm32-wasi and CPython's headers. kiwisolver reports a
# duplicate or unsatisfiable constraint by throwing a C++ exception its wrappers catch and turn
# into a Python exception, so its sources are compiled with C++ exceptions (clang's
# emscripten-style lowering, served by reactor/cxxeh.cpp and package wasm's invoke_*).
#
# Output, in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/kiwisolver-1.5.1-<hash>/, as numpy.sh's:
#   modules, libs, lib/, site/ (with a .dist-info naming the version).
#
# Usage: kiwisolver.sh CORE_DIR          build (or reuse) and print the directory
#        kiwisolver.sh --dir CORE_DIR    print the directory only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/cxx/cxx.sh"
KWVER=1.5.1
KIWI_SDIST="kiwisolver-$KWVER.tar.gz|$PYPI_FILES/ba/07/bd78e6a8fae171ea041ef5bba3ed21a003522fa088834b069b1909981f30/kiwisolver-$KWVER.tar.gz|f1303ef2eec81262a4b708c3e858afe58d7c75ad91c1c05266eda7673369859a"
CPPY_WHEEL="cppy-1.3.1-py3-none-any.whl|$PYPI_FILES/8b/3c/823fda3f226d84f983e48005527a6dd2dc365220ac4f098b770779d9f4a1/cppy-1.3.1-py3-none-any.whl|7ca132b6ef6187384738804bd3a453d4eab7e3274df6dcd35e5d92aae3404717"

only_dir=0
if [ "${1:-}" = "--dir" ]; then only_dir=1; shift; fi
CORE=${1:?usage: kiwisolver.sh [--dir] CORE_DIR}
out="$cache_root/kiwisolver-$KWVER-$(echo "$CORE" | hash_of "$0" "$here/lib.sh" $CXX_FILES "$here/fncasts.py" -)"
if [ $only_dir = 1 ] || [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
[ -f "$CORE/.complete" ] || { echo "kiwisolver.sh: $CORE is not a complete CPython core build" >&2; exit 1; }
ensure_packages

fetch_pinned "$KIWI_SDIST" "$CPPY_WHEEL"
start_part kiwisolver.sh "$out" "$src/kiwisolver-$KWVER.tar.gz"
mkdir cppy && (cd cppy && unzip -q "$src/cppy-1.3.1-py3-none-any.whl")
K=$W/kiwisolver-$KWVER

# The sources setup.py lists, checked so that a new release's changes are noticed.
SOURCES="kiwisolver constraint expression solver strength term variable"
grep -q '"kiwisolver._cext"' "$K/setup.py" || { echo "kiwisolver.sh: setup.py no longer builds kiwisolver._cext" >&2; exit 1; }
for s in $SOURCES; do
  grep -q "\"py/src/$s.cpp\"" "$K/setup.py" || { echo "kiwisolver.sh: setup.py no longer lists py/src/$s.cpp" >&2; exit 1; }
done
[ "$(grep -c '"py/src/.*\.cpp"' "$K/setup.py")" = "$(echo $SOURCES | wc -w)" ] ||
  { echo "kiwisolver.sh: setup.py lists other sources than $SOURCES" >&2; exit 1; }

# Function signatures, which wasm32 checks on every indirect call (a mismatch traps and the
# session loses its state), where native code works by accident of the calling convention:
#   - CPython calls a METH_NOARGS method and a getter with two arguments; kiwisolver defines many
#     with one (self). Each gets an unused second parameter (defaulted, for direct callers).
#   - kiwisolver's type slots go through void_cast (to void *), which hides their types from the
#     compiler: each becomes void_cast((slot type)function), so the compiler reports a function
#     of another type and fncasts.py (below) judges it. Its tp_clear functions return void where
#     CPython's garbage collector calls an int (*)(PyObject *): they return 0.
BUILD_PYTHON=$CORE/native/build/python
"$BUILD_PYTHON" - "$K"/py/src/*.cpp <<'PY'
import pathlib, re, sys
SLOT_TYPES = {"dealloc": "destructor", "traverse": "traverseproc", "clear": "inquiry", "repr": "reprfunc",
              "str": "reprfunc", "richcompare": "richcmpfunc", "new": "newfunc", "alloc": "allocfunc",
              "free": "freefunc", "hash": "hashfunc", "init": "initproc", "call": "ternaryfunc",
              "getattro": "getattrofunc", "setattro": "setattrofunc", "iter": "getiterfunc",
              "iternext": "iternextfunc", "negative": "unaryfunc", "positive": "unaryfunc",
              "absolute": "unaryfunc", "add": "binaryfunc", "subtract": "binaryfunc", "multiply": "binaryfunc",
              "true_divide": "binaryfunc", "floor_divide": "binaryfunc", "or": "binaryfunc",
              "and": "binaryfunc", "xor": "binaryfunc", "remainder": "binaryfunc"}
NOT_FUNCTIONS = {"methods", "getset", "members", "doc"}
noargs = slots = clears = 0
for f in map(pathlib.Path, sys.argv[1:]):
    s = f.read_text()
    names = re.findall(r"\(\s*PyCFunction\s*\)\s*(\w+)\s*,\s*METH_NOARGS\b", s)
    names += re.findall(r"\(\s*getter\s*\)\s*(\w+)", s)
    for name in sorted(set(names)):
        s, n = re.subn(rf"^({name}\(\s*\w+\s*\*\s*\w+)(\s*\))", r"\1, PyObject* = nullptr\2", s, flags=re.M)
        if n > 1:
            sys.exit(f"kiwisolver.sh: {f.name} defines {name} {n} times")
        noargs += n

    def typed(m):
        global slots
        kind = m["slot"]
        if kind in NOT_FUNCTIONS:
            return m[0]
        if kind not in SLOT_TYPES:
            sys.exit(f"kiwisolver.sh: {f.name}: no function type known for slot Py_{m['group']}_{kind}")
        slots += 1
        return f"Py_{m['group']}_{kind}, void_cast( ( {SLOT_TYPES[kind]} ){m['fn']} )"
    s = re.sub(r"Py_(?P<group>tp|nb)_(?P<slot>\w+),\s*void_cast\(\s*(?P<fn>\w+)\s*\)", typed, s)

    for name in re.findall(r"Py_tp_clear, void_cast\( \( inquiry \)(\w+) \)", s):
        m = re.search(rf"^void\s+{name}\s*\(([^)]*)\)\s*\{{", s, re.M)
        if not m:
            continue  # already int: fncasts.py judges it
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(s[i], 0)
            i += 1
        s = s[:m.start()] + f"int {name}({m[1]})\n{{" + s[m.end():i - 1] + "    return 0;\n}" + s[i:]
        clears += 1
    f.write_text(s)
if noargs == 0 or slots == 0:
    sys.exit("kiwisolver.sh: no one-parameter METH_NOARGS method or no void_cast type slot found; revisit the patch")
print(f"{noargs} methods and getters given their second parameter, {slots} type slots typed, "
      f"{clears} tp_clear functions returning int", file=sys.stderr)
PY

ts "kiwisolver 1. compile"
sysroot=$CORE/sysroot
mkdir -p objs
for s in $SOURCES; do
  # shellcheck disable=SC2086,SC2046
  clang++-16 --target=wasm32-wasi --sysroot="$sysroot" $(cxx_flags "$sysroot") -std=c++17 -O2 -DNDEBUG -Wcast-function-type-strict \
    -I"$CORE/Python-3.13.5/Include" -I"$CORE/build" -I"$W/cppy/cppy/include" -I"$K" \
    -c "$K/py/src/$s.cpp" -o "objs/$s.o" 2>> compile.out || { tail -30 compile.out >&2; exit 1; }
done
# The check numpy.sh and pandas.sh run: no function is called through a pointer of another type.
"$BUILD_PYTHON" "$here/fncasts.py" "$W" compile.out

ts "kiwisolver 2. module, objects, Python files"
mkdir -p "$out/lib" "$out/site"
llvm-ar-16 rcs "$out/lib/libkiwisolver-objects.a" objs/*.o
echo "libkiwisolver-objects.a" > "$out/libs"
echo "kiwisolver._cext PyInit__cext" > "$out/modules"
cp -r "$K/py/kiwisolver" "$out/site/kiwisolver"
dist=$out/site/kiwisolver-$KWVER.dist-info
mkdir -p "$dist"
printf 'Metadata-Version: 2.1\nName: kiwisolver\nVersion: %s\n' "$KWVER" > "$dist/METADATA"
cp "$K/LICENSE" "$dist/LICENSE"
# kiwisolver's own tests, for the sandboxed test run (not embedded).
cp -r "$K/py/tests" "$out/tests"
finish_part
