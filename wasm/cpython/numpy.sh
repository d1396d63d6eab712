#!/usr/bin/env bash
# Builds numpy for wasm32-wasi against the CPython core (core.sh), as objects to be linked
# statically into python.wasm by build.sh: extension modules become built-in modules.
#
# Pinned inputs (sha256 checked on every use):
#   numpy  2.5.5  sdist from the Python package index (its own vendored meson builds it)
#   Cython 3.3.1  py3-none-any wheel (Cython's pure-Python mode; runs on the build Python)
#   ninja         Debian's ninja-build
#
# How: meson cross-compiles with clang-16 for wasm32-wasi; the build Python (native 3.13.5,
# core.sh) stands in for the target interpreter, with sysconfig pointed at the wasm build's
# data (_PYTHON_PROJECT_BASE, _PYTHON_HOST_PLATFORM, _PYTHON_SYSCONFIGDATA_NAME), so meson sees
# wasm32-wasi's include paths and extension suffix. Only objects and static libraries are built
# (ninja on those targets); wasm32-wasi has no shared libraries.
#
# Options and why:
#   -Dblas=none -Dlapack=none    no BLAS/LAPACK: numpy's own lapack_lite and unoptimized loops
#   -Ddisable-threading=true     WASI preview 1 has no threads
#   -Ddisable-optimization=true, -Dcpu-baseline=none, -Dcpu-dispatch=none,
#   -Ddisable-svml/highway/intel-sort=true: no SIMD dispatch (wasm32 has no runtime CPU features)
#   long double: clang's wasm32 long double is IEEE binary128 (IEEE_QUAD_LE), done in software.
#
# Output, in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/numpy-2.5.5-<hash>/ (<hash> covers this script,
# lib.sh, the toolchain and the core's directory):
#   modules      one line per extension module: "dotted.name PyInit_symbol object-files..."
#   lib/         the objects and static libraries the modules need (shared libraries deduplicated)
#   site/        numpy's Python files as installed (compiled into the stdlib zip by build.sh)
#   include/     numpy's C headers (pandas compiles against them)
#
# Usage: numpy.sh CORE_DIR          build (or reuse) and print the directory
#        numpy.sh --dir CORE_DIR    print the directory only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
NPVER=2.5.5
NUMPY_SDIST="numpy-$NPVER.tar.gz|$PYPI_FILES/4e/3a/8770c288c47f0b5c2a786d3c20e79f66fd245f2d42cd232d7cd5e00e83e5/numpy-$NPVER.tar.gz|5cddc243c75114ba845f01b1f87aca1572dbf7b6c2d88636ed3e1d2bccd7f1bf"

only_dir=0
if [ "${1:-}" = "--dir" ]; then only_dir=1; shift; fi
CORE=${1:?usage: numpy.sh [--dir] CORE_DIR}
out="$cache_root/numpy-$NPVER-$(echo "$CORE" | hash_of "$0" "$here/lib.sh" "$here/collect.py" "$here/fncasts.py" -)"
if [ $only_dir = 1 ] || [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
[ -f "$CORE/.complete" ] || { echo "numpy.sh: $CORE is not a complete CPython core build" >&2; exit 1; }
ensure_packages

fetch_pinned "$NUMPY_SDIST" "$CYTHON_WHEEL"
start_part numpy.sh "$out" "$src/numpy-$NPVER.tar.gz"
cross_tools "$W" "$CORE"
BUILD_PYTHON=$CORE/native/build/python
"$W/tools/cython" --version >&2

# numpy.random.mtrand compiles its own copy of the random distributions with the legacy ABI
# (RAND_INT_TYPE is long: 32 bits on wasm32, 64 in numpy.random._generator's shared copy), under
# the same names. Linked into one python.wasm the two would collide, and one module would call
# the other's functions with the wrong signature. A header forced into mtrand's compiles renames
# its copy (wasmbox_legacy_<name>); collect.py fails the build if any symbol still collides.
"$BUILD_PYTHON" - "numpy-$NPVER/numpy/random/src/distributions/distributions.c" > legacy_rename.h <<'PY'
import re, sys
# The functions distributions.c defines without `static` (definitions start at column 0).
src = open(sys.argv[1]).read()
names = sorted({n for n in re.findall(r"^(?!static)[A-Za-z_][\w \t*]*?\b(\w+)\s*\(", src, re.M)
                if n.startswith("random_")})
if len(names) < 40:
    sys.exit(f"legacy_rename: only {len(names)} functions found in {sys.argv[1]}")
for n in names:
    print(f"#define {n} wasmbox_legacy_{n}")
PY
"$BUILD_PYTHON" - "numpy-$NPVER/numpy/random/meson.build" "$W/legacy_rename.h" <<'PY'
import pathlib, sys
p = pathlib.Path(sys.argv[1])
old = "['-DNP_RANDOM_LEGACY=1'], [npymath_lib],"
s = p.read_text()
if s.count(old) != 1:
    sys.exit("numpy.sh: numpy/random/meson.build no longer has mtrand's legacy flags; revisit the rename")
p.write_text(s.replace(old, f"['-DNP_RANDOM_LEGACY=1', '-include', '{sys.argv[2]}'], [npymath_lib],"))
PY

# WebAssembly has no floating-point exception flags (wasi-libc's fenv functions do nothing), yet
# numpy reports errors it detects in software through them: a singular matrix in np.linalg
# (LinAlgError), integer division by zero and overflow (RuntimeWarning, or an error under
# np.errstate). On wasm32 these functions keep the flags in a variable instead, so what numpy
# sets explicitly is reported as natively; flags that only hardware would raise (1.0 / 0) still
# are not.
"$BUILD_PYTHON" - "numpy-$NPVER/numpy/_core/src/npymath/ieee754.c.src" <<'PY'
import pathlib, sys
p = pathlib.Path(sys.argv[1])
s = p.read_text()
start = 'int npy_get_floatstatus_barrier(char* param)\n'
end = 'feraiseexcept(FE_INVALID);\n}\n'
if s.count(start) != 1 or s.count(end) != 1 or s.index(start) > s.index(end):
    sys.exit("numpy.sh: npymath/ieee754.c.src no longer has the fenv functions where expected; revisit the patch")
wasm = """#if defined(__wasm__)
/* wasmbox: no hardware flags on WebAssembly; the flags numpy sets are kept here. */
static int wasmbox_fpstatus;

int
npy_get_floatstatus_barrier(char *param)
{
    if (param != NULL) {
        volatile char NPY_UNUSED(c) = *(char *)param;
    }
    return wasmbox_fpstatus;
}

int
npy_clear_floatstatus_barrier(char *param)
{
    int fpstatus = npy_get_floatstatus_barrier(param);
    wasmbox_fpstatus = 0;
    return fpstatus;
}

void
npy_set_floatstatus_divbyzero(void)
{
    wasmbox_fpstatus |= NPY_FPE_DIVIDEBYZERO;
}

void
npy_set_floatstatus_overflow(void)
{
    wasmbox_fpstatus |= NPY_FPE_OVERFLOW;
}

void
npy_set_floatstatus_underflow(void)
{
    wasmbox_fpstatus |= NPY_FPE_UNDERFLOW;
}

void
npy_set_floatstatus_invalid(void)
{
    wasmbox_fpstatus |= NPY_FPE_INVALID;
}
#else
"""
i, j = s.index(start), s.index(end) + len(end)
p.write_text(s[:i] + wasm + s[i:j] + "#endif /* __wasm__ */\n" + s[j:])
PY

# Functions numpy calls through a pointer of another signature (a METH_NOARGS method without the
# unused second parameter, a getter without the closure, ...): harmless natively, a trap on
# wasm32 that kills the interpreter (copy.copy(np.float64(1)), `a.dtype = t`). Each gets the
# parameters it is called with; fncasts.py (compile_part) fails the build on any left.
"$BUILD_PYTHON" - "numpy-$NPVER/numpy/_core/src" <<'PY'
import pathlib, sys
src = pathlib.Path(sys.argv[1])
U = "void *NPY_UNUSED(wasmbox_unused)"
edits = [
    ("multiarray/scalartypes.c.src", "gentype___copy__(PyObject *self)\n",
     f"gentype___copy__(PyObject *self, PyObject *NPY_UNUSED(wasmbox_unused))\n"),
    ("multiarray/getset.c", "array_descr_set(PyArrayObject *self, PyObject *arg)\n",
     f"array_descr_set(PyArrayObject *self, PyObject *arg, {U})\n"),
    ("multiarray/convert_datatype.h", "_get_castingimpl(PyObject *NPY_UNUSED(module), PyObject *args);",
     "_get_castingimpl(PyObject *NPY_UNUSED(module), PyObject *args, PyObject *NPY_UNUSED(kwds));"),
    ("multiarray/convert_datatype.c", "_get_castingimpl(PyObject *NPY_UNUSED(module), PyObject *args)\n",
     "_get_castingimpl(PyObject *NPY_UNUSED(module), PyObject *args, PyObject *NPY_UNUSED(kwds))\n"),
    ("multiarray/array_converter.c", "array_converter_get_scalar_input(PyArrayArrayConverterObject *self)\n",
     f"array_converter_get_scalar_input(PyArrayArrayConverterObject *self, {U})\n"),
    ("multiarray/array_method.c", "boundarraymethod__supports_unaligned(PyBoundArrayMethodObject *self)\n",
     f"boundarraymethod__supports_unaligned(PyBoundArrayMethodObject *self, {U})\n"),
    ("umath/_scaled_float_dtype.c", "sfloat___reduce__(PyArray_SFloatDescr *self)\n",
     f"sfloat___reduce__(PyArray_SFloatDescr *self, {U})\n"),
    ("multiarray/_multiarray_tests.c.src", "(PyCFunction)printf_float_g,\n        METH_VARARGS ,",
     "(PyCFunction)printf_float_g,\n        METH_VARARGS | METH_KEYWORDS,"),
]
for name, old, new in edits:
    p = src / name
    s = p.read_text()
    if s.count(old) != 1:
        sys.exit(f"numpy.sh: {name} no longer has {old.strip()!r} once; revisit the signature patch")
    p.write_text(s.replace(old, new))
PY

# ndarray.tofile, np.fromfile, and np.save/np.load on a file name, take a C FILE* on a second
# descriptor of the Python file (os.dup), and keep the two positions in step explicitly. WASI has
# no dup; a second descriptor opened on the file's path serves the same way, with the Python
# file's own descriptor position remembered (a dup'd descriptor would share it).
"$BUILD_PYTHON" - "numpy-$NPVER/numpy/_core/include/numpy/npy_3kcompat.h" <<'PY'
import pathlib, sys
p = pathlib.Path(sys.argv[1])
s = p.read_text()
head = "static inline FILE*\nnpy_PyFile_Dup2(PyObject *file, char *mode, npy_off_t *orig_pos)\n"
dup = '    ret = PyObject_CallMethod(os, "dup", "i", fd);\n'
pos = '    *orig_pos = npy_ftell(handle);\n'
if s.count(head) != 1 or s.count(dup) != 1 or s.count(pos) != 1:
    sys.exit("numpy.sh: npy_3kcompat.h no longer has npy_PyFile_Dup2's os.dup; revisit the patch")
s = s.replace(head, "#if defined(__wasi__)\n#include <fcntl.h>\n#endif\n" + head)
s = s.replace(dup, """#if defined(__wasi__)
    /* wasmbox: no dup on WASI; a second descriptor on the same path (positions are kept in
       step below and in npy_PyFile_DupClose2, as with a dup'd descriptor). */
    {
        PyObject *name = PyObject_GetAttrString(file, "name");
        if (name == NULL || !(PyUnicode_Check(name) || PyBytes_Check(name))) {
            Py_XDECREF(name);
            Py_DECREF(os);
            PyErr_Clear();
            PyErr_SetString(PyExc_OSError,
                    "this file object has no path; WASI has no os.dup to share its descriptor "
                    "(pass a file name, or write a.tobytes() to the file)");
            return NULL;
        }
        ret = PyObject_CallMethod(os, "open", "Oi", name, mode[0] == 'r' ? O_RDONLY : O_WRONLY);
        Py_DECREF(name);
    }
#else
""" + dup + "#endif\n")
# The position to restore on the Python file's descriptor is its own (a dup'd descriptor shares
# it; the second one starts at 0).
s = s.replace(pos, "#if defined(__wasi__)\n    *orig_pos = npy_lseek(fd, 0, SEEK_CUR);\n#else\n" + pos + "#endif\n")
p.write_text(s)
PY

ts "numpy 1. configure"
cd "numpy-$NPVER"
PATH=$W/tools:$PATH "$W/tools/python" vendored-meson/meson/meson.py setup --cross-file "$W/cross.ini" \
  --buildtype=release -Doptimization=2 -Db_ndebug=if-release \
  -Dblas=none -Dlapack=none -Dallow-noblas=true -Ddisable-threading=true -Ddisable-optimization=true \
  -Dcpu-baseline=none -Dcpu-dispatch=none -Ddisable-svml=true -Ddisable-highway=true -Ddisable-intel-sort=true \
  "$W/b" > "$W/setup.out" 2>&1 || { tail -40 "$W/setup.out" >&2; exit 1; }

# The casts fncasts.py would reject that are not calls of the wrong type: numpy stores the masked
# transfer wrappers as PyArrayMethod_StridedLoop and casts them back to
# PyArray_MaskedStridedUnaryOp before every call; the legacy fillwithscalar slot (void functions
# in an int-returning slot) is never called by numpy, only by C extensions, which the sandbox
# cannot load.
FNCASTS_ALLOW=(
  --allow "_strided_masked_wrapper_(clear|transfer)_function:stored as PyArrayMethod_StridedLoop, cast back to PyArray_MaskedStridedUnaryOp before each call"
  --allow "_fillwithscalar\\b:the legacy fillwithscalar slot is never called by numpy, only by C extensions"
)
compile_part numpy
mkdir -p "$out/include" && cp -r "$out/site/numpy/_core/include/numpy" "$out/include/"
finish_part
