# Shared by the scripts in wasm/cpython: logging, pinned downloads, the apt toolchain and the cache.
# Sourced, not run.

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/wasmbox
src=$cache_root/sources
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PYPI_FILES=${PYPI_FILES:-https://files.pythonhosted.org/packages}

ts() { echo "[cpython-wasi $(date +%T)] $*" >&2; }

# The apt packages every step needs; ensure_packages installs those missing.
APT_PACKAGES="gcc make libc6-dev xz-utils clang-16 lld-16 llvm-16 wasi-libc libclang-rt-16-dev-wasm32
  libc++-16-dev-wasm32 libc++abi-16-dev-wasm32 tcl8.6 wabt binaryen ninja-build unzip curl ca-certificates
  libffi-dev zlib1g-dev"

# toolchain_id: the versions of the compilers and libraries every build step uses.
toolchain_id() {
  local out=""
  for p in gcc libc6-dev clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32 libc++-16-dev-wasm32 \
    libc++abi-16-dev-wasm32 ninja-build; do
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

# fetch NAME URL SHA256: the file $src/NAME, downloaded from URL once and checked on every use.
# A mismatch is fatal.
fetch() {
  local name=$1 url=$2 sum=$3 f="$src/$1"
  mkdir -p "$src"
  if [ ! -f "$f" ] || ! echo "$sum  $f" | sha256sum -c --status; then
    rm -f "$f.part"
    curl -fsSL --retry 3 -o "$f.part" "$url" || { echo "cannot download $name from $url" >&2; exit 1; }
    mv "$f.part" "$f"
  fi
  echo "$sum  $f" | sha256sum -c --status || { echo "sha256 mismatch for $name: got $(sha256sum "$f" | cut -d' ' -f1), want $sum" >&2; exit 1; }
}

# fetch_debian NAME POOLDIR SHA256: an orig tarball from Debian's pool (or apt's deb-src fallback).
fetch_debian() {
  local name=$1 pool=$2 sum=$3 f="$src/$1"
  mkdir -p "$src"
  if [ ! -f "$f" ] || ! echo "$sum  $f" | sha256sum -c --status; then
    rm -f "$f.part"
    curl -fsSL --retry 3 -o "$f.part" "$MIRROR/pool/$pool/$name" || {
      (cd "$src" && apt-get source --download-only "${pool##*/}" >/dev/null 2>&1) || true
      [ -f "$f" ] && cp "$f" "$f.part"
    }
    [ -f "$f.part" ] || { echo "cannot download $name from $MIRROR/pool/$pool/" >&2; exit 1; }
    mv "$f.part" "$f"
  fi
  echo "$sum  $f" | sha256sum -c --status || { echo "sha256 mismatch for $name: got $(sha256sum "$f" | cut -d' ' -f1), want $sum" >&2; exit 1; }
}

# fetch_pinned ENTRY...: fetch for each "name|url|sha256".
fetch_pinned() {
  local e name url sum
  for e in "$@"; do
    IFS='|' read -r name url sum <<<"$e"
    fetch "$name" "$url" "$sum"
  done
}

# need_tools SCRIPT TOOL...: fail, naming SCRIPT, unless every TOOL is installed.
need_tools() {
  local who=$1 t
  shift
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "$who: $t is not installed (apt-get install $t)" >&2; exit 1; }
  done
}

# check_outdir SCRIPT OUT GLOB: OUT is about to be removed and recreated; fail unless it is
# absent, empty, or a previous run's output (it holds a file matching GLOB), so a mistyped
# argument cannot wipe a directory.
check_outdir() {
  if [ -e "$2" ] && { [ ! -d "$2" ] || { [ -n "$(ls -A "$2")" ] && ! compgen -G "$2/$3" >/dev/null; }; }; then
    echo "$1: $2 exists and was not made by $1; remove it or choose another directory" >&2
    exit 1
  fi
}

# start_part SCRIPT OUT SDIST: starts the build of a package part in OUT, made afresh (and kept
# as OUT.failed if the script fails before OUT/.complete exists): the sdist is unpacked in
# W=OUT/work, which becomes the current directory.
start_part() {
  part_script=$1 part_out=$2
  rm -rf "$part_out" && mkdir -p "$part_out/work"
  trap '[ -f "$part_out/.complete" ] || { rm -rf "$part_out.failed"; mv "$part_out" "$part_out.failed"; echo "$part_script: the failed build is kept in $part_out.failed" >&2; }' EXIT
  W=$part_out/work
  cd "$W"
  tar xzf "$3"
}

# compile_part NAME: compiles the objects and static libraries (nothing is linked: wasm32-wasi
# has no shared libraries) of the meson build in $W/b, checks its function casts (fncasts.py,
# with the part's FNCASTS_ALLOW=(--allow NAME:WHY ...) if set), then collect.py lays out the
# part in $part_out (see collect.py).
compile_part() {
  ts "$1 2. compile (objects and static libraries only)"
  local targets
  targets=$(cd "$W/b" && ninja -t targets all | cut -d: -f1 | grep -E '\.(o|a)$')
  (cd "$W/b" && PATH=$W/tools:$PATH ninja -j"$(nproc)" $targets > "$W/ninja.out" 2>&1) || { tail -40 "$W/ninja.out" >&2; exit 1; }
  "$BUILD_PYTHON" "$here/fncasts.py" "$W/b" "$W/ninja.out" ${FNCASTS_ALLOW[@]+"${FNCASTS_ALLOW[@]}"}
  ts "$1 3. modules, objects, Python files"
  "$BUILD_PYTHON" "$here/collect.py" --build "$W/b" --out "$part_out" --name "$1"
}

# finish_part: removes the work directory and marks the part complete.
finish_part() {
  rm -rf "$W"
  touch "$part_out/.complete"
  echo "$part_out"
}

# hash_of FILE...: a short key over files' contents, the toolchain and extra words on stdin.
hash_of() { { cat "$@"; toolchain_id; } | sha256sum | cut -c1-16; }

# cross_tools W CORE: for a meson cross build of a Python package against the CPython core in
# CORE, writes W/tools/python (the build Python standing in for the wasm interpreter: sysconfig
# reads the wasm build's data, so meson sees wasm32-wasi's include paths and extension suffix),
# W/tools/cython (Cython from its wheel, on the build Python) and W/cross.ini (clang-16 for
# wasm32-wasi). Both wrappers keep a PYTHONPATH given to them after their own. Further arguments
# are added to every C and C++ compile.
cross_tools() {
  local W=$1 CORE=$2 extra="" a
  shift 2
  for a in "$@"; do extra+=", '$a'"; done
  local build_python=$CORE/native/build/python wbuild=$CORE/build sysroot=$CORE/sysroot plat_lib
  plat_lib=$(cd "$wbuild/build" && ls -d lib.wasi-wasm32-*)
  mkdir -p "$W/tools"
  (cd "$W/tools" && unzip -qo "$src/cython-3.3.1-py3-none-any.whl")
  cat > "$W/tools/python" <<SH
#!/bin/sh
export _PYTHON_PROJECT_BASE=$wbuild _PYTHON_HOST_PLATFORM=wasi-wasm32
export _PYTHON_SYSCONFIGDATA_NAME=_sysconfigdata__wasi_wasm32-wasi
export PYTHONPATH=$wbuild/build/$plat_lib\${PYTHONPATH:+:\$PYTHONPATH}
exec $build_python "\$@"
SH
  cat > "$W/tools/cython" <<SH
#!/bin/sh
export PYTHONPATH=$W/tools\${PYTHONPATH:+:\$PYTHONPATH}
exec $build_python -m cython "\$@"
SH
  chmod +x "$W/tools/python" "$W/tools/cython"
  cat > "$W/cross.ini" <<INI
[binaries]
c = ['clang-16', '--target=wasm32-wasi', '--sysroot=$sysroot']
cpp = ['clang++-16', '--target=wasm32-wasi', '--sysroot=$sysroot']
ar = 'llvm-ar-16'
strip = 'llvm-strip-16'
python = '$W/tools/python'
cython = '$W/tools/cython'
pkg-config = 'false'

[host_machine]
system = 'wasi'
cpu_family = 'wasm32'
cpu = 'wasm32'
endian = 'little'

[properties]
needs_exe_wrapper = true
longdouble_format = 'IEEE_QUAD_LE'

[built-in options]
c_args = ['-fno-strict-aliasing', '-Wcast-function-type-strict'$extra]
cpp_args = ['-isystem', '$sysroot/include/wasm32-wasi/c++/v1', '-Drestrict=__restrict', '-Wcast-function-type-strict'$extra]
INI
}
CYTHON_WHEEL="cython-3.3.1-py3-none-any.whl|$PYPI_FILES/9d/55/088578d75bc8dbcbc535af04b1d596ff227ca756dd74f9d3c1c526f955d0/cython-3.3.1-py3-none-any.whl|61abc7feedd20dac6c4ff7ab3a30e17136a067b242ab9253e2b4a6d9a72c2b61"
