#!/usr/bin/env bash
# Builds the core of CPython for wasm32-wasi (WASI preview 1): the interpreter's objects and
# libraries, from Debian's pinned source tarballs with Debian bookworm's own clang/lld/wasi-libc.
# build.sh links them (with wasmbox's reactor and the extension packages) into python.wasm.
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
# (python-3.13.5-native-<hash>/), keyed by the tarball and the host compiler only.
#
# The result is a build tree kept in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/cpython-3.13.5-core-<hash>/
# (the extension packages compile against its headers and sysconfig): Python-3.13.5/ (the source),
# build/ (its wasm build, with make's log, from which build.sh takes the link command), deps/,
# sysroot/, native (the build Python's directory). It is built in place and marked complete by
# the file .complete; <hash> covers this script, lib.sh and the toolchain.
#
# Usage: core.sh            build (or reuse) and print the directory
#        core.sh --dir      print the directory only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
PYVER=3.13.5
PYMM=3.13
PY_TARBALL="python3.13_3.13.5.orig.tar.xz"
# name|pool path|sha256
SOURCES=(
  "$PY_TARBALL|main/p/python3.13|93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
  "zlib_1.2.13.dfsg.orig.tar.bz2|main/z/zlib|71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"
  "bzip2_1.0.8.orig.tar.gz|main/b/bzip2|ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269"
  "xz-utils_5.4.1.orig.tar.xz|main/x/xz-utils|5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5"
  "sqlite3_3.40.1.orig.tar.xz|main/s/sqlite3|aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655"
)
# Modules that must be built into python.wasm (names as in Modules/Setup.stdlib); the build fails
# if configure found any of them missing.
REQUIRED_MODULES="array _asyncio _bisect _blake2 _bz2 _codecs_cn _codecs_hk _codecs_iso2022 _codecs_jp
  _codecs_kr _codecs_tw _contextvars _csv _datetime _decimal _elementtree _heapq _json _lsprof _lzma
  math _md5 _multibytecodec _opcode _pickle pyexpat _queue _random select _sha1 _sha2
  _sha3 _socket _sqlite3 _statistics _struct binascii cmath unicodedata zlib _zoneinfo"

T="$cache_root/cpython-$PYVER-core-$(hash_of "$0" "$here/lib.sh")"
if [ "${1:-}" = "--dir" ]; then echo "$T"; exit 0; fi
if [ -f "$T/.complete" ]; then echo "$T"; exit 0; fi
ensure_packages

ts "1. sources"
for entry in "${SOURCES[@]}"; do
  IFS='|' read -r name pool sum <<<"$entry"
  fetch_debian "$name" "$pool" "$sum"
done
# Built in place under its final name (make's log records absolute paths that build.sh replays).
rm -rf "$T" && mkdir -p "$T"
trap '[ -f "$T/.complete" ] || rm -rf "$T"' EXIT
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

ln -s "$native" native
# The dependencies' sources are not needed after the build; their libraries are in deps/.
rm -rf zlib-1.2.13.dfsg bzip2-1.0.8 xz-5.4.1 sqlite3-3.40.1 sqlite-native
touch .complete
echo "$T"
