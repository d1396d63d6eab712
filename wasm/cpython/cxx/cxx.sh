# Shared by the scripts of packages whose C++ needs exceptions or threads' classes
# (kiwisolver.sh, contourpy.sh, matplotlib.sh), and by those built with meson and pybind11. Sourced after lib.sh, with here set to wasm/cpython.

# clang's emscripten-style lowering of C++ exceptions, served by reactor/cxxeh.cpp and
# package wasm's invoke_* (README: "C++ exceptions work ...").
CXX_EXCEPTIONS="-fexceptions -mllvm -enable-emscripten-cxx-exceptions"
# setjmp/longjmp, lowered the same way (served by reactor/cxxeh.cpp too), with the header
# wasm32-wasi lacks; for C and C++ alike (it changes only functions that call them).
SJLJ_FLAGS="-mllvm -enable-emscripten-sjlj -isystem $here/cxx/sjlj"
# The files these flags name, for the parts' cache keys.
CXX_FILES="$here/cxx/cxx.sh $here/cxx/nothreads.h $here/cxx/include/thread $here/cxx/sjlj/setjmp.h"

# cxx_flags SYSROOT: the flags of a C++ compile: our <thread> ahead of libc++'s headers,
# nothreads.h first, exceptions.
cxx_flags() {
  echo "-isystem $here/cxx/include -isystem $1/include/wasm32-wasi/c++/v1 -include $here/cxx/nothreads.h $CXX_EXCEPTIONS -Drestrict=__restrict"
}

# cxx_cross W: makes lib.sh's cross file (cross_tools) compile C++ with cxx_flags: our include
# directory goes into the compiler command, ahead of cpp_args' libc++ directory.
cxx_cross() {
  local ini=$1/cross.ini flags="" f
  for f in $CXX_EXCEPTIONS -include "$here/cxx/nothreads.h"; do flags+=", '$f'"; done
  grep -q "^cpp = \['clang++-16'" "$ini" && grep -q "^cpp_args = \[" "$ini" ||
    { echo "cxx_cross: $ini is not the cross file lib.sh's cross_tools writes" >&2; exit 1; }
  sed -i -E "s|^cpp = \['clang\+\+-16'|cpp = ['clang++-16', '-isystem', '$here/cxx/include'|; s|^(cpp_args = \[.*)\]$|\1$flags]|" "$ini"
}

# The meson and pybind11 that the meson-built C++ packages (contourpy.sh, matplotlib.sh) use.
PYBIND11_WHEEL="pybind11-3.1.0-py3-none-any.whl|$PYPI_FILES/33/fd/8762f7ee3e4e4be6d1d846cffb4916dd9bb02b2f800d3603718a0efe494c/pybind11-3.1.0-py3-none-any.whl|b8488090f8acffbcb6b5d6a85571a6827a0a2981ffb75e5a0b27b87c4a6b7dd0"
MESON_WHEEL="meson-1.12.1-py3-none-any.whl|$PYPI_FILES/57/99/36cd25f9598eef70db97577440a70a360af505f6f01c2338a18d1556079c/meson-1.12.1-py3-none-any.whl|930bc7542cbd9f57009e182fd014eba48cf1a0180a7b9006d2d32d8f168d8b02"

# pybind11_cross W WHO: unpacks meson and pybind11 (fetched by the caller) into W/meson and
# W/pybind11 and points lib.sh's cross file at a pybind11-config of W/tools: pybind11's own
# would add the build Python's (native) include directory; this one answers meson's two
# questions with pybind11's headers only (Python's come from sysconfig).
pybind11_cross() {
  local W=$1 who=$2
  mkdir "$W/meson" "$W/pybind11" && (cd "$W/meson" && unzip -q "$src/meson-1.12.1-py3-none-any.whl") &&
    (cd "$W/pybind11" && unzip -q "$src/pybind11-3.1.0-py3-none-any.whl")
  [ -f "$W/pybind11/pybind11/include/pybind11/pybind11.h" ] || { echo "$who: the pybind11 wheel has no headers" >&2; exit 1; }
  cat > "$W/tools/pybind11-config" <<SH
#!/bin/sh
case "\$1" in
  --version) echo 3.1.0 ;;
  --includes) echo "-I$W/pybind11/pybind11/include" ;;
  *) echo "pybind11-config (wasmbox's $who): unknown option \$1" >&2; exit 2 ;;
esac
SH
  chmod +x "$W/tools/pybind11-config"
  sed -i "s|^\[binaries\]$|[binaries]\npybind11-config = '$W/tools/pybind11-config'|" "$W/cross.ini"
}
