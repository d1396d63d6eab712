#!/usr/bin/env bash
# Builds pandas for wasm32-wasi against the CPython core (core.sh) and numpy (numpy.sh), as
# objects to be linked statically into python.wasm by build.sh: extension modules become
# built-in modules.
#
# Pinned inputs (sha256 checked on every use):
#   pandas 3.1.1   sdist from the Python package index (with its fast_float and xsimd subprojects)
#   meson  1.12.1  py3-none-any wheel (runs on the build Python)
#   Cython 3.3.1   py3-none-any wheel (Cython's pure-Python mode; runs on the build Python)
#   ninja          Debian's ninja-build
#
# How: as numpy.sh (lib.sh's cross_tools). pandas' build asks `import numpy` for numpy's include
# directory and Cython reads numpy's .pxd files; the build Python cannot import the wasm numpy,
# so it gets a build-time stand-in package that holds only numpy's headers, .pxd files and
# get_include().
#
# Output, in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/pandas-3.1.1-<hash>/, as numpy.sh's: modules,
# libs, lib/, site/.
#
# Usage: pandas.sh CORE_DIR NUMPY_DIR          build (or reuse) and print the directory
#        pandas.sh --dir CORE_DIR NUMPY_DIR    print the directory only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
PDVER=3.1.1
PANDAS_SDIST="pandas-$PDVER.tar.gz|$PYPI_FILES/17/ca/24c6bc92aca3d366146358e47f1d374c0e1a50763ef226fc71eff20a63fb/pandas-$PDVER.tar.gz|05fed3e3b7c99b226f160e29d7d6cb7ef39638c758cbfe42b3f24ba34f04b859"
MESON_WHEEL="meson-1.12.1-py3-none-any.whl|$PYPI_FILES/57/99/36cd25f9598eef70db97577440a70a360af505f6f01c2338a18d1556079c/meson-1.12.1-py3-none-any.whl|930bc7542cbd9f57009e182fd014eba48cf1a0180a7b9006d2d32d8f168d8b02"

only_dir=0
if [ "${1:-}" = "--dir" ]; then only_dir=1; shift; fi
CORE=${1:?usage: pandas.sh [--dir] CORE_DIR NUMPY_DIR}
NUMPY=${2:?usage: pandas.sh [--dir] CORE_DIR NUMPY_DIR}
# Keyed by numpy's pinned sdist, not by numpy's build directory: pandas uses only numpy's
# headers, and they come from the sdist.
out="$cache_root/pandas-$PDVER-$({ echo "$CORE"; grep '^NUMPY_SDIST=' "$here/numpy.sh"; } | hash_of "$0" "$here/lib.sh" "$here/collect.py" "$here/fncasts.py" -)"
if [ $only_dir = 1 ] || [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
[ -f "$CORE/.complete" ] || { echo "pandas.sh: $CORE is not a complete CPython core build" >&2; exit 1; }
[ -f "$NUMPY/.complete" ] || { echo "pandas.sh: $NUMPY is not a complete numpy build" >&2; exit 1; }
ensure_packages

fetch_pinned "$PANDAS_SDIST" "$MESON_WHEEL" "$CYTHON_WHEEL"
start_part pandas.sh "$out" "$src/pandas-$PDVER.tar.gz"
BUILD_PYTHON=$CORE/native/build/python
# pandas vendors a few of numpy's datetime functions under numpy's names (with other
# signatures) in its pandas_datetime module; linked into one python.wasm they would collide, so
# that module's copies are renamed by a header forced into its compiles (other modules reach
# them through the module's capsule). build.sh fails the build if any other global symbol is
# defined twice.
for f in add_minutes_to_datetimestruct get_datetime_metadata_from_dtype get_datetimestruct_days is_leapyear; do
  echo "#define $f wasmbox_pandas_$f"
done > rename.h
"$BUILD_PYTHON" - "pandas-$PDVER/pandas/_libs/meson.build" "$W/rename.h" <<'PY'
import pathlib, sys
p = pathlib.Path(sys.argv[1])
old = "'src/datetime/pd_datetime.c',\n        ],\n        'c_args': strict_c_args,"
s = p.read_text()
if s.count(old) != 1:
    sys.exit("pandas.sh: pandas/_libs/meson.build no longer builds pandas_datetime as expected; revisit the rename")
p.write_text(s.replace(old, old[:-1] + f" + ['-include', '{sys.argv[2]}'],"))
PY
cross_tools "$W" "$CORE"
mkdir meson && (cd meson && unzip -q "$src/meson-1.12.1-py3-none-any.whl")

# Build-time stand-ins: numpy (headers, .pxd files and get_include(), nothing to run), and
# versioneer, which generate_version.py imports but does not call when the sdist carries
# _version_meson.py (it does; the stand-in fails loudly otherwise).
mkdir -p stubs/numpy
(cd "$NUMPY/site/numpy" && find . -name '*.pxd' -exec cp --parents {} "$W/stubs/numpy/" \;)
cp -r "$NUMPY/include" stubs/numpy/include
cat > stubs/numpy/__init__.py <<'PY'
# Build-time stand-in for numpy (wasmbox's pandas.sh): where numpy's C headers are.
import os
def get_include():
    return os.path.join(os.path.dirname(__file__), "include")
PY
cat > stubs/versioneer.py <<'PY'
# Build-time stand-in for versioneer (wasmbox's pandas.sh): the sdist's _version_meson.py has the version.
def get_version():
    raise RuntimeError("pandas' sdist should carry _version_meson.py")
get_versions = get_version
PY
test -f "pandas-$PDVER/_version_meson.py"
export PYTHONPATH=$W/stubs:$W/tools  # Cython too: pandas generates .pxi files with its Tempita

ts "pandas 1. configure"
cd "pandas-$PDVER"
PATH=$W/tools:$PATH PYTHONPATH=$W/meson:$W/stubs "$W/tools/python" -m mesonbuild.mesonmain setup \
  --cross-file "$W/cross.ini" --buildtype=release -Doptimization=2 -Db_ndebug=if-release \
  "$W/b" > "$W/setup.out" 2>&1 || { tail -40 "$W/setup.out" >&2; exit 1; }

compile_part pandas
finish_part
