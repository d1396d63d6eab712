#!/usr/bin/env bash
# Installs, for the native CPython build, the same analysis packages the sandbox has, so that
# runtime/python's differential test can run each analysis snippet twice (in the sandbox and
# natively) and compare the outputs byte for byte. Only a test needs this; nothing of it goes
# into python.wasm.
#
# What the native side gets: numpy, pandas and matplotlib as the package index's own cp313 manylinux x86_64
# wheels (the same releases that numpy.sh and pandas.sh compile for wasm32-wasi from their
# sdists), unzipped as an installation would lay them out; and the pure-Python packages from
# wheels.sh, unchanged, so both sides run the very same files (sympy's ctypes patch included).
# The wheels are the real thing users compare against: numpy's bundles OpenBLAS (numpy.libs/),
# where the sandbox has numpy's own lapack_lite, so linear algebra may differ in the last digits;
# that is a difference to report, not to remove.
#
# Pinned inputs, sha256 from https://pypi.org/simple/<name>/ and checked on every use:
#   numpy   2.5.5   numpy-2.5.5-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
#   pandas  3.1.1   pandas-3.1.1-cp313-cp313-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl
#   matplotlib 3.11.2, Pillow 13.0.0, contourpy 1.4.0, kiwisolver 1.5.1: their cp313 manylinux
#           x86_64 wheels (for the plot corpus test, which compares figures drawn in the sandbox
#           with the same code drawn natively; matplotlib's wheel bundles the same FreeType)
#
# The interpreter is the native CPython 3.13.5 that core.sh builds (its build tree, no pip):
#   PYTHONPATH=OUTDIR:OUTDIR/pure $(ls -d ~/.cache/wasmbox/python-3.13.5-native-*)/build/python
# Its extension modules are those whose libraries the host had when it was built: the wheels need
# _ctypes (pandas imports ctypes at import time; libffi-dev) and zlib (an .xlsx is a deflated zip;
# zlib1g-dev). The test checks for them and says what is missing.
#
# Usage: native-analysis.sh OUTDIR    recreate OUTDIR with the packages; then
#        WASMBOX_NATIVE_ANALYSIS=OUTDIR go test ./runtime/python -run TestPackages_differential
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# name|version|file|url|sha256
WHEELS=(
  "numpy|2.5.5|numpy-2.5.5-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl|$PYPI_FILES/40/d6/68dd5a83914bbcaf32b3165993f7955979916708cb0156d1e28231e18803/numpy-2.5.5-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl|824025655df929268bfe6b47ed91a00d14209a6f760847cf150be446829e1ce4"
  "pandas|3.1.1|pandas-3.1.1-cp313-cp313-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl|$PYPI_FILES/79/c2/c8bc972d6dcba13910fc92b622420704a2f655dd6b01ed54269a1bf7c2d2/pandas-3.1.1-cp313-cp313-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl|645fa00fd85cfced2d2c09dc116d3694f578501b1ce4899153fbe64788ecda98"
  "matplotlib|3.11.2|matplotlib-3.11.2-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|$PYPI_FILES/a9/df/e7c10292f348cf55178a5b3c0092a38ea68891a3945f199ae8b7b8ac9dc1/matplotlib-3.11.2-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|1944895967f87c84c9b4bad29a707b31f5b36df4a3a2339ea1f8ea3ce5105539"
  "pillow|13.0.0|pillow-13.0.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl|$PYPI_FILES/ef/fe/f5cdaa2d1c4086e757430f368c271a58ee29cfe7378e7ae7b9d964015c25/pillow-13.0.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl|5f56499c1a74d2b862beb0c33b8016f99d095858455df9d21583bbbc1c15b582"
  "contourpy|1.4.0|contourpy-1.4.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl|$PYPI_FILES/68/77/8f93ecbde1a4d11dfd460cd19a0c159f5487352e751fa87f5d78cc9db08e/contourpy-1.4.0-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl|f1219a8898523cba821085f2da8a1b962cc696325763f09d7f93538ba43b2d70"
  "kiwisolver|1.5.1|kiwisolver-1.5.1-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|$PYPI_FILES/ab/43/86aacc027959108b4c66eeae8b73cedb057dfa6eb3a335d05ad65197081c/kiwisolver-1.5.1-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|74ad5c3dad54a4641b4c28cd15ded70899d04459c6c7aeacafea716be97cce6d"
)

die() { echo "native-analysis.sh: $*" >&2; exit 1; }

OUT=${1:?usage: native-analysis.sh OUTDIR}
need_tools native-analysis.sh curl unzip sha256sum
[ "$(uname -m)" = x86_64 ] || die "the pinned wheels are for x86_64 Linux, this machine is $(uname -m)"
check_outdir native-analysis.sh "$OUT" "numpy-*.dist-info"

ts "1. downloads"
for entry in "${WHEELS[@]}"; do
  IFS='|' read -r name version file url sum <<<"$entry"
  [ "${url##*/}" = "$file" ] || die "$name: the URL does not end in $file"
  fetch "$file" "$url" "$sum"
done

ts "2. unpack into $OUT"
rm -rf "$OUT" && mkdir -p "$OUT"
complete=0
trap '[ "$complete" = 1 ] || rm -rf "$OUT"' EXIT
for entry in "${WHEELS[@]}"; do
  IFS='|' read -r name version file url sum <<<"$entry"
  unzip -q -o "$src/$file" -d "$OUT"
  m=$OUT/$name-$version.dist-info/METADATA
  [ -f "$m" ] || die "$name: $file has no $name-$version.dist-info/METADATA"
  [ "$(sed -n 's/^Version: //p' "$m" | head -1 | tr -d '\r')" = "$version" ] ||
    die "$name: its METADATA does not say version $version"
done

ts "3. pure-Python packages (wheels.sh)"
"$here/wheels.sh" "$OUT/pure"
complete=1
ts "done: PYTHONPATH=$OUT:$OUT/pure"
