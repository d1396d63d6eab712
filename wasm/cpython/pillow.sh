#!/usr/bin/env bash
# Builds Pillow (the imaging library matplotlib writes PNG files and reads images with) for
# wasm32-wasi against the CPython core (core.sh), as objects to be linked statically into
# python.wasm by build.sh: PIL._imaging, PIL._imagingmath and PIL._imagingmorph become
# built-in modules.
#
# Pinned input (sha256 checked on every use):
#   Pillow 13.0.0   sdist from the Python package index
#
# How: Pillow's setup.py names its C sources in two tuples (_IMAGING, _LIB_IMAGING) and one
# helper library (libImaging/Mode.c); they are read from setup.py and compiled here directly
# with clang-16 for wasm32-wasi, with zlib (the core's, already in python.wasm) for PNG and
# ZIP. Formats that need other libraries are not built: JPEG, JPEG 2000, TIFF (libtiff), WebP,
# AVIF, colour management (lcms), Pillow's own FreeType text (ImageFont's TrueType fonts;
# its built-in bitmap font works), Tk and XCB. Pillow reports each as unavailable
# (PIL.features.check).
#
# Output, in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/pillow-13.0.0-<hash>/, as kiwisolver.sh's:
#   modules, libs, lib/, site/ (PIL and a .dist-info) and tests/, Pillow's own tests.
#
# Usage: pillow.sh CORE_DIR          build (or reuse) and print the directory
#        pillow.sh --dir CORE_DIR    print the directory only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
PILVER=13.0.0
PILLOW_SDIST="pillow-$PILVER.tar.gz|$PYPI_FILES/ce/a4/9cc30690a394a8305e8be4c9036aa16d0dfddadd09079860b582f562496d/pillow-$PILVER.tar.gz|cdcd1ba258178f7356d74170c9a81ba4eab6a5d55748bc402a5a2a6fe6be3510"

only_dir=0
if [ "${1:-}" = "--dir" ]; then only_dir=1; shift; fi
CORE=${1:?usage: pillow.sh [--dir] CORE_DIR}
out="$cache_root/pillow-$PILVER-$(echo "$CORE" | hash_of "$0" "$here/lib.sh" "$here/fncasts.py" -)"
if [ $only_dir = 1 ] || [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
[ -f "$CORE/.complete" ] || { echo "pillow.sh: $CORE is not a complete CPython core build" >&2; exit 1; }
ensure_packages

fetch_pinned "$PILLOW_SDIST"
start_part pillow.sh "$out" "$src/pillow-$PILVER.tar.gz"
P=$W/pillow-$PILVER
BUILD_PYTHON=$CORE/native/build/python

# The sources, as setup.py lists them (a release that moves them fails here, not silently).
SOURCES=$("$BUILD_PYTHON" - "$P/setup.py" <<'PY'
import ast, sys
tree = ast.parse(open(sys.argv[1]).read())
lists = {}
for node in tree.body:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and getattr(node.targets[0], "id", "") in ("_IMAGING", "_LIB_IMAGING"):
        lists[node.targets[0].id] = ast.literal_eval(node.value)
if set(lists) != {"_IMAGING", "_LIB_IMAGING"} or "Extension(\"PIL._imaging\", files)" not in open(sys.argv[1]).read():
    sys.exit("pillow.sh: setup.py no longer names _imaging's sources in _IMAGING and _LIB_IMAGING")
print(" ".join(["src/_imaging.c", "src/libImaging/Mode.c"] + [f"src/{s}.c" for s in lists["_IMAGING"]]
               + [f"src/libImaging/{s}.c" for s in lists["_LIB_IMAGING"]]))
PY
)
EXTRA="src/_imagingmath.c src/_imagingmorph.c"

# Function signatures, which wasm32 checks on every indirect call (fncasts.py below finds
# them): the Arrow export methods are METH_VARARGS, called with (self, args), and defined with
# self only. Each gets its unused second parameter.
"$BUILD_PYTHON" - "$P/src/_imaging.c" <<'PY'
import pathlib, re, sys
p = pathlib.Path(sys.argv[1])
s = p.read_text()
for name in ("ExportArrowSchemaPyCapsule", "ExportArrowArrayPyCapsule"):
    s, n = re.subn(rf"^{name}\(ImagingObject \*self\) \{{", f"{name}(ImagingObject *self, PyObject *args) {{", s, flags=re.M)
    if n != 1:
        sys.exit(f"pillow.sh: _imaging.c no longer defines {name}(ImagingObject *self); revisit the patch")
p.write_text(s)
PY

ts "pillow 1. compile"
sysroot=$CORE/sysroot
mkdir -p objs
for s in $SOURCES $EXTRA; do
  o=objs/$(echo "$s" | tr / _).o
  clang-16 --target=wasm32-wasi --sysroot="$sysroot" -O2 -DNDEBUG -fno-strict-aliasing -Wcast-function-type-strict \
    -DHAVE_LIBZ "-DPILLOW_VERSION=\"$PILVER\"" -I"$CORE/Python-3.13.5/Include" -I"$CORE/build" -I"$CORE/deps/include" \
    -I"$P/src/libImaging" -c "$P/$s" -o "$o" 2>> compile.out || { tail -30 compile.out >&2; exit 1; }
done
# The check numpy.sh and pandas.sh run: no function is called through a pointer of another type.
"$BUILD_PYTHON" "$here/fncasts.py" "$W" compile.out

ts "pillow 2. modules, objects, Python files"
mkdir -p "$out/lib" "$out/site"
llvm-ar-16 rcs "$out/lib/libpillow-objects.a" objs/*.o
echo "libpillow-objects.a" > "$out/libs"
printf '%s\n' "PIL._imaging PyInit__imaging" "PIL._imagingmath PyInit__imagingmath" "PIL._imagingmorph PyInit__imagingmorph" > "$out/modules"
cp -r "$P/src/PIL" "$out/site/PIL"
find "$out/site/PIL" -name '*.c' -delete
dist=$out/site/pillow-$PILVER.dist-info
mkdir -p "$dist"
printf 'Metadata-Version: 2.1\nName: pillow\nVersion: %s\n' "$PILVER" > "$dist/METADATA"
cp "$P/LICENSE" "$dist/LICENSE"
# Pillow's own tests and their images, for the sandboxed test run (not embedded).
cp -r "$P/Tests" "$out/tests"
finish_part
