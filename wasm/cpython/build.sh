#!/usr/bin/env bash
# Builds python.wasm, wasmbox's Python: CPython 3.13.5 for wasm32-wasi (WASI preview 1) as a
# reactor, with numpy, pandas, matplotlib and the other packages' extension modules linked in
# statically, and places python.wasm, the precompiled standard library and packages
# (python313.zip), the time zone database (zoneinfo/) and matplotlib's data directory
# (mpl-data/: fonts, styles, its matplotlibrc; matplotlib reads them as files, not from a zip)
# next to this script, where go:embed picks them up.
#
# The parts, each cached on its own under ${XDG_CACHE_HOME:-~/.cache}/wasmbox and rebuilt only
# when its recipe (or a part it builds on) changes:
#   core.sh     CPython's interpreter objects and libraries (and a native build Python)
#   numpy.sh    numpy's extension modules as objects, and its Python files
#   pandas.sh   pandas' likewise
#   kiwisolver.sh  kiwisolver's (C++ with exceptions)
#   contourpy.sh   contourpy's (C++ with pybind11)
#   matplotlib.sh  matplotlib's, with FreeType, HarfBuzz, libraqm, SheenBidi and Qhull
#   pillow.sh      Pillow's (PNG and ZIP through the core's zlib)
#   wheels.sh   pure-Python packages from their wheels (openpyxl, sympy, ...)
# This script links the reactor (reactor/reactor.c in place of Programs/python.c, with every
# package's extension modules registered as built-in modules under their dotted names) and
# writes the zip. Every download is pinned by sha256; the build fails on a mismatch, on a
# missing module, or when python.wasm imports anything but WASI, the wasmbox host module and the
# invoke_* functions of C++ exceptions (reactor/cxxeh.cpp).
#
# Optimization: -O2 with pymalloc, no wasm-opt. Measured with 3.11 on 2 cores with wazero:
# -O2+pymalloc ran a 3M-iteration loop in ~1.0 s, -O2 without pymalloc ~1.2 s, -O3 ~1.5 s, -O2
# followed by `wasm-opt -O3` ~1.3 s (wasm-opt makes it slower, so it is not run; WASM_OPT=1
# turns it on to re-measure).
#
# The result is cached in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/cpython-3.13.5-<hash>/, where
# <hash> covers these scripts, the reactor, the toolchain and the parts' directories.
#
# Usage: wasm/cpython/build.sh            build (or reuse the cache) and install next to the script
#        wasm/cpython/build.sh --cache-dir print the cache directory and exit
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
PYVER=3.13.5
PYMM=3.13
ZIP=python313.zip

# The toolchain's versions are part of every part's key: install it before the keys are taken,
# or a first build on a fresh machine names its parts with one key and looks for them by another.
[ "${1:-}" = "--cache-dir" ] || ensure_packages
core=$("$here/core.sh" --dir)
numpy=$("$here/numpy.sh" --dir "$core")
pandas=$("$here/pandas.sh" --dir "$core" "$numpy")
kiwisolver=$("$here/kiwisolver.sh" --dir "$core")
contourpy=$("$here/contourpy.sh" --dir "$core")
matplotlib=$("$here/matplotlib.sh" --dir "$core")
pillow=$("$here/pillow.sh" --dir "$core")
wheels="$cache_root/wheels-$(hash_of "$here/wheels.sh" "$here/wheel.sh" "$here/lib.sh")"
PACKAGES="$numpy $pandas $kiwisolver $contourpy $matplotlib $pillow"
# The time zone database is compiled from the pinned tzdata wheel's source (wheels.sh), so the
# host's tzdata package changes nothing; zic's version is part of the key.
zic_version=$(zic --version 2>/dev/null | head -1 || echo missing)
out="$cache_root/cpython-$PYVER-$(printf '%s\n' "$core" $PACKAGES "$wheels" "WASM_OPT=${WASM_OPT:-0}" "zic=$zic_version" |
  hash_of "$0" "$here/lib.sh" "$here/reactor/reactor.c" "$here/reactor/cxxeh.cpp" "$here/patches.py" -)"
if [ "${1:-}" = "--cache-dir" ]; then
  echo "$out"
  exit 0
fi

install_outputs() {
  cp "$1/python.wasm" "$here/python.wasm.tmp" && mv "$here/python.wasm.tmp" "$here/python.wasm"
  cp "$1/$ZIP" "$here/$ZIP.tmp" && mv "$here/$ZIP.tmp" "$here/$ZIP"
  rm -rf "$here/zoneinfo.tmp" && cp -r "$1/zoneinfo" "$here/zoneinfo.tmp" && rm -rf "$here/zoneinfo" && mv "$here/zoneinfo.tmp" "$here/zoneinfo"
  rm -rf "$here/mpl-data.tmp" && cp -r "$1/mpl-data" "$here/mpl-data.tmp" && rm -rf "$here/mpl-data" && mv "$here/mpl-data.tmp" "$here/mpl-data"
  # Outputs of earlier CPython versions would be embedded by nothing but confuse a reader.
  rm -f "$here/python311.zip"
  ts "installed python.wasm ($(stat -c %s "$here/python.wasm") bytes) and $ZIP ($(stat -c %s "$here/$ZIP") bytes) from $1"
}

ensure_packages
if [ -f "$out/python.wasm" ] && [ -f "$out/$ZIP" ] && [ -d "$out/zoneinfo" ] && [ -d "$out/mpl-data" ] && [ -d "$out/Lib-test" ]; then
  ts "cache hit: $out"
  install_outputs "$out"
  exit 0
fi

"$here/core.sh" >/dev/null
"$here/numpy.sh" "$core" >/dev/null
"$here/pandas.sh" "$core" "$numpy" >/dev/null
"$here/kiwisolver.sh" "$core" >/dev/null
"$here/contourpy.sh" "$core" >/dev/null
"$here/matplotlib.sh" "$core" >/dev/null
"$here/pillow.sh" "$core" >/dev/null
if [ ! -f "$wheels/.complete" ]; then
  "$here/wheels.sh" "$wheels" >/dev/null
  touch "$wheels/.complete"
fi
BUILD_PYTHON=$core/native/build/python

T=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

ts "6. link the reactor: wasmbox's reactor.c in place of Programs/python.o, -mexec-model=reactor"
# The built-in modules of the packages, by dotted name.
"$BUILD_PYTHON" - $PACKAGES > wasmbox_packages.c <<'PY'
import pathlib, sys
mods = []
for d in sys.argv[1:]:
    for line in (pathlib.Path(d) / "modules").read_text().splitlines():
        if line.strip():
            mods.append(line.split())
inits = [i for _, i in mods]
dup = sorted({i for i in inits if inits.count(i) > 1})
if dup:
    sys.exit(f"two extension modules share an init function: {dup}")
print('#include "Python.h"')
for _, init in mods:
    print(f"extern PyObject *{init}(void);")
print("struct _inittab wasmbox_package_modules[] = {")
for name, init in mods:
    print(f'    {{"{name}", {init}}},')
print("    {NULL, NULL},\n};")
print(len(mods), "built-in modules from packages", file=sys.stderr)
PY
archives=""
for p in $PACKAGES; do
  while read -r a; do archives+=" $p/lib/$a"; done < "$p/libs"
done
# A global symbol defined in two archives (two packages, or a package and CPython) would bind
# one to the other's code, silently: fail instead.
for a in $archives "$core/build/libpython$PYMM.a"; do
  llvm-nm-16 --defined-only --extern-only --no-weak "$a" 2>/dev/null | awk -v a="${a##*/}" 'NF == 3 && $2 ~ /^[TDBRC]$/ {print $3, a}'
done | sort -u | awk '{n[$1]++; w[$1] = w[$1] " " $2} END {for (s in n) if (n[s] > 1) print s ":" w[s]}' > duplicates.txt
[ ! -s duplicates.txt ] || { echo "global symbols defined more than once:" >&2; head -20 duplicates.txt >&2; exit 1; }
# C++ exceptions (reactor/cxxeh.cpp, with the host's half in package wasm): the runtime, and
# the invoke_* functions the packages' C++ imports from the host (env) for its guarded calls.
clang++-16 --target=wasm32-wasi --sysroot="$core/sysroot" -isystem "$core/sysroot/include/wasm32-wasi/c++/v1" \
  -O2 -fno-exceptions -Wall -Wextra -Werror -c "$here/reactor/cxxeh.cpp" -o wasmbox_cxxeh.o
# shellcheck disable=SC2086
llvm-nm-16 -u $archives 2>/dev/null | { grep -oE '(^| )invoke_[a-z]+$' || true; } | tr -d ' ' | sort -u > invokes.txt
# The compile and link commands are make's own for python.wasm (read from its log), so the
# reactor gets exactly the interpreter's flags, libraries and stack size. libc++ serves the
# packages' C++ sources (its own code built without exceptions).
(cd "$core/build" &&
  cc_line=$(grep -E -- ' -o Programs/python\.o( |$)' make.out | tail -1) &&
  ld_line=$(grep -E -- ' -o python\.wasm( |$)' make.out | tail -1) &&
  [ -n "$cc_line" ] && [ -n "$ld_line" ] &&
  cp "$here/reactor/reactor.c" "$T/wasmbox_reactor.c" &&
  eval "$(echo "$cc_line" | sed -E "s#[^ ]*Programs/python\.c#$T/wasmbox_reactor.c#; s# -o Programs/python\.o# -o $T/wasmbox_reactor.o#")" &&
  eval "$(echo "$cc_line" | sed -E "s#[^ ]*Programs/python\.c#$T/wasmbox_packages.c#; s# -o Programs/python\.o# -o $T/wasmbox_packages.o#")" &&
  eval "$(echo "$ld_line" | sed -E "s# -o python\.wasm Programs/python\.o# -mexec-model=reactor -o $T/python-reactor.wasm $T/wasmbox_reactor.o $T/wasmbox_packages.o$archives $T/wasmbox_cxxeh.o#") -Wl,--allow-undefined-file=$T/invokes.txt -Wl,--export=__stack_pointer -lc++ -lc++abi -lc-printscan-long-double" &&
  [ -f "$T/python-reactor.wasm" ] \
  || { echo "linking the reactor failed; compile: $cc_line; link: $ld_line" >&2; exit 1; })
cp python-reactor.wasm python.wasm
wasm-strip python.wasm
# The reactor's contract with the host (package wasm): these exports, and imports from
# wasi_snapshot_preview1 and wasmbox only, and env's invoke_* functions.
# (Outputs are captured, not piped into grep -q: an early exit would fail the pipeline under
# pipefail and turn a check into its opposite.) make's link line lets undefined symbols become
# imports, so this is what catches a symbol no library defines.
exports=$(wasm-objdump -x -j Export python.wasm)
for e in wasmbox_exec wasmbox_cxx_threw __stack_pointer; do
  grep -q "\"$e\"" <<<"$exports" || { echo "python.wasm lacks the export $e" >&2; exit 1; }
done
foreign=$(wasm-objdump -x -j Import python.wasm | grep -E '<- ' | grep -vE '<- (wasi_snapshot_preview1\.|wasmbox\.|env\.invoke_[a-z]+$)' || true)
if [ -n "$foreign" ]; then
  echo "python.wasm imports from modules other than wasi_snapshot_preview1, wasmbox and env's invoke_* (undefined symbols?):" >&2
  echo "$foreign" >&2
  exit 1
fi
if [ "${WASM_OPT:-0}" = 1 ]; then
  ts "6b. wasm-opt -O3"
  wasm-opt -O3 --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int --enable-bulk-memory python.wasm -o python.opt.wasm && mv python.opt.wasm python.wasm
fi

ts "7. stdlib zip of sourceless .pyc (compiled by the build Python: the same bytecode magic)"
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$here "$BUILD_PYTHON" - "$core/Python-$PYVER/Lib" "$core/build/build/lib.wasi-wasm32-$PYMM" $ZIP "$numpy/site" "$pandas/site" "$kiwisolver/site" "$contourpy/site" "$matplotlib/site" "$pillow/site" "$wheels" <<'PY'
import importlib.util, marshal, pathlib, sys, zipfile
import patches
src, extra, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
packages = [pathlib.Path(p) for p in sys.argv[4:]]
patched = 0
# Packages that cannot work under WASI (no threads, processes, GUI, pip) or are tests.
EXCL = {"test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
        "__pycache__", "site-packages", "venv", "multiprocessing", "curses",
        "mpl-data"}  # matplotlib's data: a directory of its own (7c)
EXCL_FILES = {"turtle.py", "antigravity.py", "this.py"}
# Of the packages' other files, those not needed at run time (sources, headers, stubs).
NOT_DATA = {".py", ".pyc", ".pyi", ".pyx", ".pxd", ".pxi", ".c", ".h", ".cpp", ".hpp", ".so",
            ".a", ".o", ".in", ".build", ".txt"}
zi = lambda name: zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
GUEST_ZIP = "/usr/local/lib/python313.zip"  # wasm.StdlibPath and cpython.StdlibZip
n = data = 0
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
    for base in [src, extra] + packages:
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(base)
            if p.is_dir() or set(rel.parts[:-1]) & EXCL or (len(rel.parts) == 1 and rel.name in EXCL_FILES):
                continue
            # The standard library is stored (the common imports stay fast); the packages are
            # deflated (sympy alone is 21 MB stored), numpy and pandas are in the base image.
            how = zipfile.ZIP_DEFLATED if base in packages else zipfile.ZIP_STORED
            if p.suffix == ".py":
                source, k = patches.apply(str(rel), p.read_bytes()) if base in packages else (p.read_bytes(), 0)
                patched += k
                # The file name is the module's path in the guest, as zipimport sets __file__:
                # code that finds its own frames by file name (pandas' find_stack_level, which
                # points warnings at the user's line) compares the two.
                code = compile(source, f"{GUEST_ZIP}/{rel}", "exec", dont_inherit=True, optimize=0)
                zf.writestr(zi(str(rel.with_suffix(".pyc"))), importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code), how)
                n += 1
            elif base in packages and (p.suffix not in NOT_DATA or ".dist-info" in str(rel)):
                zf.writestr(zi(str(rel)), p.read_bytes(), how)
                data += 1
if patched != len(patches.PATCHES):
    sys.exit(f"{len(patches.PATCHES) - patched} of the patches in patches.py found no file")
if not any(n.startswith("_sysconfigdata_") for n in zipfile.ZipFile(out).namelist()):
    sys.exit("no _sysconfigdata module in the stdlib zip")
print(n, "modules and", data, "data files", file=sys.stderr)
PY

ts "7b. time zone database (the tzdata wheel's source compiled by zic, served at the guest's /usr/share/zoneinfo)"
# -b fat: with the version-1 data pytz reads (the wheel's own files are slim, which pytz misreads).
rm -rf zic.out && mkdir zic.out
zic -b fat -d zic.out "$wheels/tzdata/zoneinfo/tzdata.zi"
"$BUILD_PYTHON" - zic.out "$wheels/tzdata/zoneinfo" zoneinfo <<'PY'
import pathlib, sys
src, tables, out = (pathlib.Path(a) for a in sys.argv[1:])
# The tables pytz reads (it is pointed here by PYTZ_TZDATADIR), from the wheel.
for name in ("zone.tab", "zone1970.tab", "iso3166.tab"):
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).write_bytes((tables / name).read_bytes())
zones = 0
for p in sorted(src.rglob("*")):
    rel = p.relative_to(src)
    # Zone files only: no posix/ and right/ duplicates, no localtime.
    if p.is_dir() or rel.parts[0] in ("posix", "right") or "." in rel.name or rel.name[0].islower():
        continue
    data = p.read_bytes()
    if not data.startswith(b"TZif"):
        continue
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    (out / rel).write_bytes(data)
    zones += 1
if zones < 500 or not (out / "Europe" / "Berlin").is_file():
    sys.exit(f"zic made {zones} time zones")
print(zones, "time zones", file=sys.stderr)
PY
rm -rf zic.out

ts "7c. matplotlib's data directory (served at the guest's /usr/share/matplotlib/mpl-data)"
cp -r "$matplotlib/site/matplotlib/mpl-data" mpl-data
[ -f mpl-data/matplotlibrc ] && [ -f mpl-data/fonts/ttf/DejaVuSans.ttf ] ||
  { echo "matplotlib's mpl-data lacks matplotlibrc or the DejaVu fonts" >&2; exit 1; }
# (matplotlib.sh sets it; "#backend:" is how a packager's default is written there)
grep -qx "#backend: Agg" mpl-data/matplotlibrc ||
  { echo "matplotlib's matplotlibrc does not name Agg as the backend" >&2; exit 1; }

ts "8. regression tests (Lib/test as source, for the sandboxed test run; not embedded)"
mkdir -p Lib-test
cp -r "$core/Python-$PYVER/Lib/test" Lib-test/test

rm -rf "$out.tmp" && mkdir -p "$out.tmp"
mv python.wasm $ZIP zoneinfo mpl-data Lib-test "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
install_outputs "$out"
