#!/usr/bin/env bash
# Builds contourpy (matplotlib's contour and contourf engine) for wasm32-wasi against the CPython
# core (core.sh), as objects to be linked statically into python.wasm by build.sh: its
# extension module contourpy._contourpy becomes a built-in module.
#
# Pinned inputs (sha256 checked on every use):
#   contourpy 1.4.0   sdist from the Python package index
#   pybind11  3.1.0, meson 1.12.1: py3-none-any wheels (cxx/cxx.sh's)
#
# How: as numpy.sh (lib.sh's cross_tools, compile_part), with the C++ flags of cxx/cxx.sh:
# pybind11 turns C++ exceptions into Python ones, so the sources are compiled with C++
# exceptions, and contourpy's threaded generator names std::thread, which nothreads.h gives a
# wasm32-wasi without threads (hardware_concurrency() is 1, so the generator runs on the one
# thread there is). meson finds pybind11's headers through a pybind11-config written here.
#
# Output, in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/contourpy-1.4.0-<hash>/, as numpy.sh's:
#   modules, libs, lib/, site/; and tests/, contourpy's own tests (in its sdist, not installed).
#
# Usage: contourpy.sh CORE_DIR          build (or reuse) and print the directory
#        contourpy.sh --dir CORE_DIR    print the directory only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/cxx/cxx.sh"
CPVER=1.4.0
CONTOURPY_SDIST="contourpy-$CPVER.tar.gz|$PYPI_FILES/83/5a/a55177dd22553a277388e8a1b3220e92de91bacb28356cdc73caa240121d/contourpy-$CPVER.tar.gz|20156f5a1ac4f8ce02656e39a61e82164a3d359796dc8026f75b062783d500e1"

only_dir=0
if [ "${1:-}" = "--dir" ]; then only_dir=1; shift; fi
CORE=${1:?usage: contourpy.sh [--dir] CORE_DIR}
out="$cache_root/contourpy-$CPVER-$(echo "$CORE" | hash_of "$0" "$here/lib.sh" $CXX_FILES "$here/collect.py" "$here/fncasts.py" -)"
if [ $only_dir = 1 ] || [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
[ -f "$CORE/.complete" ] || { echo "contourpy.sh: $CORE is not a complete CPython core build" >&2; exit 1; }
ensure_packages

fetch_pinned "$CONTOURPY_SDIST" "$PYBIND11_WHEEL" "$MESON_WHEEL" "$CYTHON_WHEEL"
start_part contourpy.sh "$out" "$src/contourpy-$CPVER.tar.gz"
BUILD_PYTHON=$CORE/native/build/python
cross_tools "$W" "$CORE"
cxx_cross "$W"
pybind11_cross "$W" contourpy.sh

# contourpy records the meson-python that built it in contourpy.util.build_config(); meson
# builds it here, without meson-python.
"$BUILD_PYTHON" - "contourpy-$CPVER/lib/contourpy/util/meson.build" <<'PY'
import pathlib, re, sys
p = pathlib.Path(sys.argv[1])
s, n = re.subn(r"conf_data\.set\('mesonpy_version',\s*run_command\(.*?\)\.stdout\(\)\.strip\(\)\s*\)",
               "conf_data.set('mesonpy_version', 'none (meson without meson-python, wasmbox contourpy.sh)')",
               p.read_text(), flags=re.S)
if n != 1:
    sys.exit("contourpy.sh: lib/contourpy/util/meson.build no longer asks for meson-python's version as expected")
p.write_text(s)
PY

ts "contourpy 1. configure"
cd "contourpy-$CPVER"
# werror: clang-16 warns where the compilers contourpy is tested with do not.
PATH=$W/tools:$PATH PYTHONPATH=$W/meson "$W/tools/python" -m mesonbuild.mesonmain setup \
  --cross-file "$W/cross.ini" --buildtype=release -Doptimization=2 -Db_ndebug=if-release -Dwerror=false \
  "$W/b" > "$W/setup.out" 2>&1 || { tail -40 "$W/setup.out" >&2; exit 1; }

compile_part contourpy
cp -r "$W/contourpy-$CPVER/tests" "$out/tests"
finish_part
