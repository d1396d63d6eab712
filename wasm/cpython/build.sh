#!/usr/bin/env bash
# Builds CPython for wasm32-wasi (WASI preview 1) from Debian's pinned source tarballs with
# Debian bookworm's own clang/lld/wasi-libc, and places python.wasm, the precompiled standard
# library (python313.zip) and the time zone database (zoneinfo/) next to this script, where
# go:embed picks them up.
#
# Pinned inputs:
#   python3.13 3.13.5 (Debian trixie)  orig tarball python3.13_3.13.5.orig.tar.xz
#   zlib       1:1.2.13.dfsg-1         orig tarball zlib_1.2.13.dfsg.orig.tar.bz2
#   bzip2      1.0.8-5                 orig tarball bzip2_1.0.8.orig.tar.gz
#   xz-utils   5.4.1-1+deb12u*         orig tarball xz-utils_5.4.1.orig.tar.xz
#   sqlite3    3.40.1-2+deb12u*        orig tarball sqlite3_3.40.1.orig.tar.xz
#   toolchain  clang-16, lld-16, llvm-16 (16.0.6), wasi-libc 0.0~git20220510, libclang-rt-16-dev-wasm32
# Every tarball's sha256 is checked before it is unpacked. Only upstream (orig) sources are used;
# Debian's patches are for the native build and are not applied.
#
# Cross-compiling CPython 3.13 needs a build Python of the same version (it freezes modules and
# compiles the standard library with it). Debian bookworm has none, so the same tarball is first
# built natively with the host's gcc; that build is cached on its own
# (python-3.13.5-native-<hash>/), keyed by the tarball and the host compiler only, so changing
# the wasm recipe does not rebuild it.
#
# Optimization: -O2 with pymalloc, no wasm-opt. Measured with 3.11 on 2 cores with wazero:
# -O2+pymalloc ran a 3M-iteration loop in ~1.0 s, -O2 without pymalloc ~1.2 s, -O3 ~1.5 s, -O2
# followed by `wasm-opt -O3` ~1.3 s (wasm-opt makes it slower, so it is not run; WASM_OPT=1
# turns it on to re-measure).
#
# The build fails if a checksum does not match or if any module in REQUIRED_MODULES is not
# built in.
#
# The result is cached in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/cpython-3.13.5-<hash>/, where <hash>
# covers this script, the reactor and the toolchain versions, so an unchanged recipe is not rebuilt.
#
# Usage: wasm/cpython/build.sh            build (or reuse the cache) and install next to the script
#        wasm/cpython/build.sh --cache-dir print the cache directory and exit
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
PYVER=3.13.5
PYMM=3.13
ZIP=python313.zip
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# name|pool path|sha256
PY_TARBALL="python3.13_3.13.5.orig.tar.xz"
SOURCES=(
  "$PY_TARBALL|main/p/python3.13|93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
  "zlib_1.2.13.dfsg.orig.tar.bz2|main/z/zlib|71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"
  "bzip2_1.0.8.orig.tar.gz|main/b/bzip2|ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269"
  "xz-utils_5.4.1.orig.tar.xz|main/x/xz-utils|5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5"
  "sqlite3_3.40.1.orig.tar.xz|main/s/sqlite3|aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655"
)
APT_PACKAGES="tzdata gcc make libc6-dev xz-utils clang-16 lld-16 llvm-16 wasi-libc libclang-rt-16-dev-wasm32 tcl8.6 wabt binaryen curl ca-certificates"

# Modules that must be built into python.wasm (names as in Modules/Setup.stdlib); the build fails
# if configure found any of them missing.
REQUIRED_MODULES="array _asyncio _bisect _blake2 _bz2 _codecs_cn _codecs_hk _codecs_iso2022 _codecs_jp
  _codecs_kr _codecs_tw _contextvars _csv _datetime _decimal _elementtree _heapq _json _lsprof _lzma
  math _md5 _multibytecodec _opcode _pickle pyexpat _queue _random select _sha1 _sha2
  _sha3 _socket _sqlite3 _statistics _struct binascii cmath unicodedata zlib _zoneinfo"

ts() { echo "[cpython-wasi $(date +%T)] $*" >&2; }

toolchain_id() {
  local out=""
  for p in tzdata gcc libc6-dev clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32; do
    out+="$p=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo missing);"
  done
  echo "$out"
}

ensure_packages() {
  local missing=()
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  ts "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/wasmbox
src=$cache_root/sources
recipe_hash() { { cat "$0" "$here/reactor/reactor.c"; toolchain_id; echo "WASM_OPT=${WASM_OPT:-0}"; } | sha256sum | cut -c1-16; }

if [ "${1:-}" = "--cache-dir" ]; then
  echo "$cache_root/cpython-$PYVER-$(recipe_hash)"
  exit 0
fi

install_outputs() {
  cp "$1/python.wasm" "$here/python.wasm.tmp" && mv "$here/python.wasm.tmp" "$here/python.wasm"
  cp "$1/$ZIP" "$here/$ZIP.tmp" && mv "$here/$ZIP.tmp" "$here/$ZIP"
  rm -rf "$here/zoneinfo.tmp" && cp -r "$1/zoneinfo" "$here/zoneinfo.tmp" && rm -rf "$here/zoneinfo" && mv "$here/zoneinfo.tmp" "$here/zoneinfo"
  # Outputs of earlier CPython versions would be embedded by nothing but confuse a reader.
  rm -f "$here/python311.zip"
  ts "installed python.wasm ($(stat -c %s "$here/python.wasm") bytes) and $ZIP ($(stat -c %s "$here/$ZIP") bytes) from $1"
}

ensure_packages
out="$cache_root/cpython-$PYVER-$(recipe_hash)"
if [ -f "$out/python.wasm" ] && [ -f "$out/$ZIP" ] && [ -d "$out/zoneinfo" ] && [ -d "$out/Lib-test" ]; then
  ts "cache hit: $out"
  install_outputs "$out"
  exit 0
fi

mkdir -p "$src"
T=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$T"' EXIT

ts "1. sources"
for entry in "${SOURCES[@]}"; do
  IFS='|' read -r name pool sum <<<"$entry"
  f="$src/$name"
  if [ ! -f "$f" ] || ! echo "$sum  $f" | sha256sum -c --status; then
    rm -f "$f.part"
    curl -fsSL --retry 3 -o "$f.part" "$MIRROR/pool/$pool/$name" || {
      # Fall back to apt's own source fetch (uses whatever deb-src mirror is configured).
      (cd "$src" && apt-get source --download-only "${pool##*/}" >/dev/null 2>&1) || true
      [ -f "$f" ] && cp "$f" "$f.part"
    }
    [ -f "$f.part" ] || { echo "cannot download $name from $MIRROR/pool/$pool/" >&2; exit 1; }
    mv "$f.part" "$f"
  fi
  echo "$sum  $f" | sha256sum -c --status || { echo "sha256 mismatch for $name: got $(sha256sum "$f" | cut -d' ' -f1), want $sum" >&2; exit 1; }
done
cd "$T"
export SOURCE_DATE_EPOCH=1749600000 # 2025-06-11, CPython 3.13.5's release day: a reproducible sys.version

ts "2. build Python (native $PYVER from the same tarball, cached on its own)"
NATIVE_CONFIGURE="--without-ensurepip --disable-test-modules"
NATIVE_OPT="-DNDEBUG -O1"
native_hash=$({ echo "$PY_TARBALL $NATIVE_CONFIGURE $NATIVE_OPT"; gcc -dumpfullversion; dpkg-query -W -f='${Version}' libc6-dev 2>/dev/null; } | sha256sum | cut -c1-16)
native="$cache_root/python-$PYVER-native-$native_hash"
BUILD_PYTHON=$native/build/python
if [ ! -x "$BUILD_PYTHON" ]; then
  # Built under its final name (the build tree finds its sources by the relative path ../src)
  # and marked complete only when python runs.
  rm -rf "$native"
  mkdir -p "$native/build"
  tar xJf "$src/$PY_TARBALL" -C "$native" && mv "$native/Python-$PYVER" "$native/src"
  (cd "$native/build" && OPT="$NATIVE_OPT" ../src/configure $NATIVE_CONFIGURE > configure.out 2>&1 \
    || { tail -30 configure.out >&2; exit 1; })
  (cd "$native/build" && make -j"$(nproc)" > make.out 2>&1 || { tail -40 make.out >&2; rm -f python; exit 1; })
fi
"$BUILD_PYTHON" -c "import sys; assert sys.version.startswith('$PYVER '), sys.version" \
  || { echo "the build Python in $native does not run or is not $PYVER; remove that directory" >&2; exit 1; }

ts "3. private sysroot (keeps the host's /usr/include out of the wasm build)"
SYSROOT=$T/sysroot; mkdir -p "$SYSROOT/include" "$SYSROOT/lib"
ln -s /usr/include/wasm32-wasi "$SYSROOT/include/wasm32-wasi"
ln -s /usr/lib/wasm32-wasi "$SYSROOT/lib/wasm32-wasi"
WCC="clang-16 --target=wasm32-wasi --sysroot=$SYSROOT"
D=$T/deps; mkdir -p "$D/include" "$D/lib"

ts "4a. zlib"
tar xjf "$src/zlib_1.2.13.dfsg.orig.tar.bz2"
(cd zlib-1.2.13.dfsg && CC="$WCC" CFLAGS=-O2 AR=llvm-ar-16 RANLIB=llvm-ranlib-16 ./configure --static --prefix="$D" >/dev/null &&
  make -j2 libz.a >/dev/null 2>&1 && make install >/dev/null)

ts "4b. bzip2"
tar xzf "$src/bzip2_1.0.8.orig.tar.gz"
(cd bzip2-1.0.8 &&
  for f in blocksort huffman crctable randtable compress decompress bzlib; do $WCC -O2 -D_FILE_OFFSET_BITS=64 -c $f.c; done &&
  llvm-ar-16 rcs "$D/lib/libbz2.a" blocksort.o huffman.o crctable.o randtable.o compress.o decompress.o bzlib.o &&
  cp bzlib.h "$D/include/")

ts "4c. liblzma (no sigprocmask on wasm)"
tar xJf "$src/xz-utils_5.4.1.orig.tar.xz"
(cd xz-5.4.1 &&
  sed -i 's|^#if !(defined(_WIN32) && !defined(__CYGWIN__))$|#if !(defined(_WIN32) \&\& !defined(__CYGWIN__)) \&\& !defined(__wasm__)|' src/common/mythread.h &&
  CC="$WCC" CFLAGS="-O2 -D_WASI_EMULATED_SIGNAL" AR=llvm-ar-16 RANLIB=llvm-ranlib-16 ./configure --host=wasm32-unknown-wasi \
    --build=x86_64-pc-linux-gnu --prefix="$D" --disable-shared --enable-static --disable-threads --disable-xz --disable-xzdec \
    --disable-lzmadec --disable-lzmainfo --disable-lzma-links --disable-scripts --disable-doc --disable-nls >/dev/null &&
  make -j2 -C src/liblzma >/dev/null 2>&1 && make -C src/liblzma install >/dev/null)

ts "4d. sqlite3 (amalgamation generated natively with tclsh, then cross-compiled)"
tar xJf "$src/sqlite3_3.40.1.orig.tar.xz"
mkdir sqlite-native
(cd sqlite-native && ../sqlite3-3.40.1/configure --disable-tcl >/dev/null && make -j2 sqlite3.c >/dev/null 2>&1 &&
  cat > wasi_sqlite_shim.h <<'SHIM'
#include <sys/types.h>
#include <fcntl.h>
#ifndef F_RDLCK
# define F_RDLCK 0
# define F_WRLCK 1
# define F_UNLCK 2
#endif
#ifndef F_GETLK
# define F_GETLK 5
# define F_SETLK 6
# define F_SETLKW 7
#endif
static inline int fchmod(int fd, mode_t m) { (void)fd; (void)m; return 0; }
static inline int fchown(int fd, uid_t u, gid_t g) { (void)fd; (void)u; (void)g; return 0; }
static inline uid_t geteuid(void) { return 0; }
SHIM
  $WCC -O2 -include wasi_sqlite_shim.h -DSQLITE_DEFAULT_UNIX_VFS=\"unix-none\" -DSQLITE_THREADSAFE=0 \
    -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL -DSQLITE_MAX_MMAP_SIZE=0 -DHAVE_MREMAP=0 -DLONGDOUBLE_TYPE=double \
    -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS -c sqlite3.c -o sqlite3.o &&
  llvm-ar-16 rcs "$D/lib/libsqlite3.a" sqlite3.o && cp sqlite3.h sqlite3ext.h "$D/include/")

ts "5. configure CPython $PYVER (-O2, pymalloc)"
tar xJf "$src/$PY_TARBALL"
cp Python-$PYVER/Tools/wasm/config.site-wasm32-wasi config.site
# wasi-libc has no clock_nanosleep; without these time.sleep fails.
printf '%s\n' 'ac_cv_func_clock_nanosleep=no' 'ac_cv_lib_rt_clock_nanosleep=no' >> config.site
# This wasi-libc has no pthread.h, so configure leaves SIZEOF_PTHREAD_T undefined; CPython's own
# stubs (Include/cpython/pthread_stubs.h) then take wasi-libc's 32-bit pthread_t.
printf '%s\n' 'ac_cv_have_pthread_t=yes' 'ac_cv_sizeof_pthread_t=4' >> config.site
touch Python-$PYVER/Modules/Setup.local
mkdir build
# --without-system-libmpdec: 3.13 looks for an installed libmpdec by default; the bundled copy
# is the one that builds for wasm32.
(cd build &&
  export CONFIG_SITE=$T/config.site &&
  export CC="$WCC" CPP="clang-cpp-16 --target=wasm32-wasi --sysroot=$SYSROOT" CXX="clang++-16 --target=wasm32-wasi --sysroot=$SYSROOT" &&
  export LDSHARED=wasm-ld-16 AR=llvm-ar-16 RANLIB=llvm-ranlib-16 &&
  export PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=$SYSROOT/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$SYSROOT &&
  export ZLIB_CFLAGS="-I$D/include" ZLIB_LIBS="-L$D/lib -lz" BZIP2_CFLAGS="-I$D/include" BZIP2_LIBS="-L$D/lib -lbz2" &&
  export LIBLZMA_CFLAGS="-I$D/include" LIBLZMA_LIBS="-L$D/lib -llzma" LIBSQLITE3_CFLAGS="-I$D/include" LIBSQLITE3_LIBS="-L$D/lib -lsqlite3" &&
  export OPT="-DNDEBUG -fwrapv -O2 -Wall" CFLAGS="-Wno-error=int-conversion" &&
  ../Python-$PYVER/configure -C --host=wasm32-unknown-wasi --build=x86_64-pc-linux-gnu \
    --with-build-python="$BUILD_PYTHON" --with-pymalloc --without-system-libmpdec > configure.out 2>&1 \
    || { tail -30 configure.out >&2; exit 1; })

missing=""
for m in $REQUIRED_MODULES; do
  var=$(echo "MODULE_${m}_STATE" | tr '[:lower:]' '[:upper:]')
  grep -qx "$var=yes" build/Makefile || missing+=" $m($(grep -o "^$var=.*" build/Makefile | cut -d= -f2))"
done
[ -z "$missing" ] || { echo "modules that must be built in are not:$missing" >&2; exit 1; }

ts "6. make"
(cd build && make -j"$(nproc)" > make.out 2>&1 || { tail -40 make.out >&2; exit 1; })

ts "6a. link the reactor: wasmbox's reactor.c in place of Programs/python.o, -mexec-model=reactor"
# The compile and link commands are make's own for python.wasm (read from its log), so the
# reactor gets exactly the interpreter's flags, libraries and stack size.
(cd build &&
  cc_line=$(grep -E -- ' -o Programs/python\.o( |$)' make.out | tail -1) &&
  ld_line=$(grep -E -- ' -o python\.wasm( |$)' make.out | tail -1) &&
  [ -n "$cc_line" ] && [ -n "$ld_line" ] &&
  cp "$here/reactor/reactor.c" Programs/wasmbox_reactor.c &&
  eval "$(echo "$cc_line" | sed -E 's#[^ ]*Programs/python\.c#Programs/wasmbox_reactor.c#; s# -o Programs/python\.o# -o Programs/wasmbox_reactor.o#')" &&
  eval "$(echo "$ld_line" | sed -E 's# -o python\.wasm Programs/python\.o# -mexec-model=reactor -o python-reactor.wasm Programs/wasmbox_reactor.o#')" &&
  [ -f python-reactor.wasm ] \
  || { echo "linking the reactor failed; compile: $cc_line; link: $ld_line" >&2; exit 1; })
cp build/python-reactor.wasm python.wasm
wasm-strip python.wasm
# The reactor's contract with the host (package wasm): these exports, and imports from
# wasi_snapshot_preview1 and wasmbox only.
wasm-objdump -x -j Export python.wasm | grep -q '"wasmbox_exec"' || { echo "python.wasm lacks wasmbox_exec" >&2; exit 1; }
if wasm-objdump -x -j Import python.wasm | grep -E '<- ' | grep -vqE '<- (wasi_snapshot_preview1|wasmbox)\.'; then
  echo "python.wasm imports from modules other than wasi_snapshot_preview1 and wasmbox:" >&2
  wasm-objdump -x -j Import python.wasm | grep -E '<- ' | grep -vE '<- (wasi_snapshot_preview1|wasmbox)\.' >&2
  exit 1
fi
if [ "${WASM_OPT:-0}" = 1 ]; then
  ts "6b. wasm-opt -O3"
  wasm-opt -O3 --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int --enable-bulk-memory python.wasm -o python.opt.wasm && mv python.opt.wasm python.wasm
fi

ts "7. stdlib zip of sourceless .pyc (compiled by the native build Python: the same bytecode magic)"
"$BUILD_PYTHON" - Python-$PYVER/Lib build/build/lib.wasi-wasm32-$PYMM $ZIP <<'PY'
import importlib.util, marshal, pathlib, sys, zipfile
src, extra, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
# Packages that cannot work under WASI (no threads, processes, GUI, pip) or are tests.
EXCL = {"test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
        "__pycache__", "site-packages", "venv", "multiprocessing", "curses"}
EXCL_FILES = {"turtle.py", "antigravity.py", "this.py"}
n = 0
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
    for base in (src, extra):
        for p in sorted(base.rglob("*.py")):
            rel = p.relative_to(base)
            if set(rel.parts[:-1]) & EXCL or (len(rel.parts) == 1 and rel.name in EXCL_FILES):
                continue
            code = compile(p.read_bytes(), str(rel), "exec", dont_inherit=True, optimize=0)
            zi = zipfile.ZipInfo(str(rel.with_suffix(".pyc")), date_time=(2020, 1, 1, 0, 0, 0))
            zf.writestr(zi, importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code))
            n += 1
if not any(n.startswith("_sysconfigdata_") for n in zipfile.ZipFile(out).namelist()):
    sys.exit("no _sysconfigdata module in the stdlib zip")
print(n, "modules", file=sys.stderr)
PY

ts "7b. time zone database (Debian's tzdata, served at the guest's /usr/share/zoneinfo)"
"$BUILD_PYTHON" - /usr/share/zoneinfo zoneinfo <<'PY'
import pathlib, shutil, sys
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
zones = 0
for p in sorted(src.rglob("*")):
    rel = p.relative_to(src)
    # Zone files only: no posix/ and right/ duplicates, no tables, no localtime.
    if p.is_dir() or rel.parts[0] in ("posix", "right") or "." in rel.name or rel.name[0].islower():
        continue
    data = p.read_bytes()
    if not data.startswith(b"TZif"):
        continue
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    (out / rel).write_bytes(data)
    zones += 1
print(zones, "time zones", file=sys.stderr)
PY

ts "8. regression tests (Lib/test as source, for the sandboxed test run; not embedded)"
mkdir -p Lib-test
cp -r Python-$PYVER/Lib/test Lib-test/test

rm -rf "$out.tmp" && mkdir -p "$out.tmp"
mv python.wasm $ZIP zoneinfo Lib-test "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
install_outputs "$out"
