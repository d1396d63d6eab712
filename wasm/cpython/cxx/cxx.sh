# Shared by the scripts of packages whose C++ needs exceptions or threads' classes
# (kiwisolver.sh, contourpy.sh, matplotlib.sh). Sourced after lib.sh, with here set to wasm/cpython.

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
