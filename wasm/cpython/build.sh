#!/usr/bin/env bash
# Builds CPython for wasm32-wasi (WASI preview 1) from Debian bookworm's source packages with
# Debian's own clang/lld/wasi-libc, and places python.wasm and the precompiled standard library
# (python311.zip) and the time zone database (zoneinfo/) next to this script, where go:embed
# picks them up.
#
# Pinned inputs (Debian bookworm):
#   python3.11 3.11.2-6+deb12u*  orig tarball python3.11_3.11.2.orig.tar.gz
#   zlib       1:1.2.13.dfsg-1   orig tarball zlib_1.2.13.dfsg.orig.tar.bz2
#   bzip2      1.0.8-5           orig tarball bzip2_1.0.8.orig.tar.gz
#   xz-utils   5.4.1-1+deb12u*   orig tarball xz-utils_5.4.1.orig.tar.xz
#   sqlite3    3.40.1-2+deb12u*  orig tarball sqlite3_3.40.1.orig.tar.xz
#   toolchain  clang-16, lld-16, llvm-16 (16.0.6), wasi-libc 0.0~git20220510, libclang-rt-16-dev-wasm32
# Every tarball's sha256 is checked before it is unpacked. Only upstream (orig) sources are used;
# Debian's patches are for the native build and are not applied.
#
# Optimization: -O2 with pymalloc, no wasm-opt. Measured on 2 cores with wazero: -O2+pymalloc runs a
# 3M-iteration loop in ~1.0 s, -O2 without pymalloc ~1.2 s, -O3 ~1.5 s, -O2 followed by
# `wasm-opt -O3` ~1.3 s (wasm-opt makes it slower, so it is not run; WASM_OPT=1 turns it on to
# re-measure).
#
# The result is cached in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/cpython-3.11.2-<hash>/, where <hash>
# covers this script and the toolchain versions, so an unchanged recipe is not rebuilt.
#
# Usage: wasm/cpython/build.sh            build (or reuse the cache) and install next to the script
#        wasm/cpython/build.sh --cache-dir print the cache directory and exit
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
PYVER=3.11.2
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# name|pool path|sha256
SOURCES=(
  "python3.11_3.11.2.orig.tar.gz|main/p/python3.11|2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849"
  "zlib_1.2.13.dfsg.orig.tar.bz2|main/z/zlib|71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"
  "bzip2_1.0.8.orig.tar.gz|main/b/bzip2|ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269"
  "xz-utils_5.4.1.orig.tar.xz|main/x/xz-utils|5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5"
  "sqlite3_3.40.1.orig.tar.xz|main/s/sqlite3|aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655"
)
APT_PACKAGES="tzdata clang-16 lld-16 llvm-16 wasi-libc libclang-rt-16-dev-wasm32 python3.11 tcl8.6 wabt binaryen curl ca-certificates"

ts() { echo "[cpython-wasi $(date +%T)] $*" >&2; }

toolchain_id() {
  local out=""
  for p in tzdata clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32 python3.11; do
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
recipe_hash() { { cat "$0" "$here/reactor/reactor.c"; toolchain_id; echo "WASM_OPT=${WASM_OPT:-0}"; } | sha256sum | cut -c1-16; }

if [ "${1:-}" = "--cache-dir" ]; then
  echo "$cache_root/cpython-$PYVER-$(recipe_hash)"
  exit 0
fi

install_outputs() {
  cp "$1/python.wasm" "$here/python.wasm.tmp" && mv "$here/python.wasm.tmp" "$here/python.wasm"
  cp "$1/python311.zip" "$here/python311.zip.tmp" && mv "$here/python311.zip.tmp" "$here/python311.zip"
  rm -rf "$here/zoneinfo.tmp" && cp -r "$1/zoneinfo" "$here/zoneinfo.tmp" && rm -rf "$here/zoneinfo" && mv "$here/zoneinfo.tmp" "$here/zoneinfo"
  ts "installed python.wasm ($(stat -c %s "$here/python.wasm") bytes) and python311.zip ($(stat -c %s "$here/python311.zip") bytes) from $1"
}

ensure_packages
out="$cache_root/cpython-$PYVER-$(recipe_hash)"
if [ -f "$out/python.wasm" ] && [ -f "$out/python311.zip" ] && [ -d "$out/zoneinfo" ] && [ -d "$out/Lib-test" ]; then
  ts "cache hit: $out"
  install_outputs "$out"
  exit 0
fi

mkdir -p "$cache_root/sources"
T=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$T"' EXIT

ts "1. sources"
for entry in "${SOURCES[@]}"; do
  IFS='|' read -r name pool sum <<<"$entry"
  f="$cache_root/sources/$name"
  if [ ! -f "$f" ] || ! echo "$sum  $f" | sha256sum -c --status; then
    curl -fsSL --retry 3 -o "$f.part" "$MIRROR/pool/$pool/$name" || {
      # Fall back to apt's own source fetch (uses whatever deb-src mirror is configured).
      (cd "$cache_root/sources" && apt-get source --download-only "${pool##*/}" >/dev/null 2>&1) || true
      [ -f "$f" ] && cp "$f" "$f.part"
    }
    mv "$f.part" "$f"
  fi
  echo "$sum  $f" | sha256sum -c --status || { echo "sha256 mismatch for $name" >&2; exit 1; }
done
src=$cache_root/sources
cd "$T"
export SOURCE_DATE_EPOCH=1675728000 # 2023-02-07, CPython 3.11.2's release day: a reproducible sys.version

ts "2. private sysroot (keeps the host's /usr/include out of the wasm build)"
SYSROOT=$T/sysroot; mkdir -p "$SYSROOT/include" "$SYSROOT/lib"
ln -s /usr/include/wasm32-wasi "$SYSROOT/include/wasm32-wasi"
ln -s /usr/lib/wasm32-wasi "$SYSROOT/lib/wasm32-wasi"
WCC="clang-16 --target=wasm32-wasi --sysroot=$SYSROOT"
D=$T/deps; mkdir -p "$D/include" "$D/lib"

ts "3a. zlib"
tar xjf "$src/zlib_1.2.13.dfsg.orig.tar.bz2"
(cd zlib-1.2.13.dfsg && CC="$WCC" CFLAGS=-O2 AR=llvm-ar-16 RANLIB=llvm-ranlib-16 ./configure --static --prefix="$D" >/dev/null &&
  make -j2 libz.a >/dev/null 2>&1 && make install >/dev/null)

ts "3b. bzip2"
tar xzf "$src/bzip2_1.0.8.orig.tar.gz"
(cd bzip2-1.0.8 &&
  for f in blocksort huffman crctable randtable compress decompress bzlib; do $WCC -O2 -D_FILE_OFFSET_BITS=64 -c $f.c; done &&
  llvm-ar-16 rcs "$D/lib/libbz2.a" blocksort.o huffman.o crctable.o randtable.o compress.o decompress.o bzlib.o &&
  cp bzlib.h "$D/include/")

ts "3c. liblzma (no sigprocmask on wasm)"
tar xJf "$src/xz-utils_5.4.1.orig.tar.xz"
(cd xz-5.4.1 &&
  sed -i 's|^#if !(defined(_WIN32) && !defined(__CYGWIN__))$|#if !(defined(_WIN32) \&\& !defined(__CYGWIN__)) \&\& !defined(__wasm__)|' src/common/mythread.h &&
  CC="$WCC" CFLAGS="-O2 -D_WASI_EMULATED_SIGNAL" AR=llvm-ar-16 RANLIB=llvm-ranlib-16 ./configure --host=wasm32-unknown-wasi \
    --build=x86_64-pc-linux-gnu --prefix="$D" --disable-shared --enable-static --disable-threads --disable-xz --disable-xzdec \
    --disable-lzmadec --disable-lzmainfo --disable-lzma-links --disable-scripts --disable-doc --disable-nls >/dev/null &&
  make -j2 -C src/liblzma >/dev/null 2>&1 && make -C src/liblzma install >/dev/null)

ts "3d. sqlite3 (amalgamation generated natively with tclsh, then cross-compiled)"
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

ts "4. configure CPython $PYVER (-O2, pymalloc)"
tar xzf "$src/python3.11_3.11.2.orig.tar.gz"
cp Python-3.11.2/Tools/wasm/config.site-wasm32-wasi config.site
# wasi-libc has no clock_nanosleep; without these time.sleep fails.
printf '%s\n' 'ac_cv_func_clock_nanosleep=no' 'ac_cv_lib_rt_clock_nanosleep=no' >> config.site
touch Python-3.11.2/Modules/Setup.local
mkdir build
(cd build &&
  export CONFIG_SITE=$T/config.site &&
  export CC="$WCC" CPP="clang-cpp-16 --target=wasm32-wasi --sysroot=$SYSROOT" CXX="clang++-16 --target=wasm32-wasi --sysroot=$SYSROOT" &&
  export LDSHARED=wasm-ld-16 AR=llvm-ar-16 RANLIB=llvm-ranlib-16 &&
  export PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=$SYSROOT/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$SYSROOT &&
  export ZLIB_CFLAGS="-I$D/include" ZLIB_LIBS="-L$D/lib -lz" BZIP2_CFLAGS="-I$D/include" BZIP2_LIBS="-L$D/lib -lbz2" &&
  export LIBLZMA_CFLAGS="-I$D/include" LIBLZMA_LIBS="-L$D/lib -llzma" LIBSQLITE3_CFLAGS="-I$D/include" LIBSQLITE3_LIBS="-L$D/lib -lsqlite3" &&
  export OPT="-DNDEBUG -fwrapv -O2 -Wall" CFLAGS="-Wno-error=int-conversion" &&
  ../Python-3.11.2/configure -C --host=wasm32-unknown-wasi --build=x86_64-pc-linux-gnu \
    --with-build-python=/usr/bin/python3.11 --with-pymalloc > configure.out 2>&1 || { tail -30 configure.out >&2; exit 1; })

ts "5. make"
(cd build && make -j"$(nproc)" > make.out 2>&1 || { tail -40 make.out >&2; exit 1; })

ts "5a. link the reactor: wasmbox's reactor.c in place of Programs/python.o, -mexec-model=reactor"
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
if [ "${WASM_OPT:-0}" = 1 ]; then
  ts "5b. wasm-opt -O3"
  wasm-opt -O3 --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int --enable-bulk-memory python.wasm -o python.opt.wasm && mv python.opt.wasm python.wasm
fi

ts "6. stdlib zip of sourceless .pyc (compiled by Debian's python3.11: the same bytecode magic)"
/usr/bin/python3.11 - Python-3.11.2/Lib build/build/lib.wasi-wasm32-3.11 python311.zip <<'PY'
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
print(n, "modules", file=sys.stderr)
PY

ts "6b. time zone database (Debian's tzdata, served at the guest's /usr/share/zoneinfo)"
/usr/bin/python3.11 - /usr/share/zoneinfo zoneinfo <<'PY'
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

ts "7. regression tests (Lib/test as source, for the sandboxed test run; not embedded)"
mkdir -p Lib-test
cp -r Python-3.11.2/Lib/test Lib-test/test

rm -rf "$out.tmp" && mkdir -p "$out.tmp"
mv python.wasm python311.zip zoneinfo Lib-test "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
install_outputs "$out"
