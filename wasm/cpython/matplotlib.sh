#!/usr/bin/env bash
# Builds matplotlib for wasm32-wasi against the CPython core (core.sh), as objects to be linked
# statically into python.wasm by build.sh: its extension modules (Agg, FreeType's wrapper, path,
# image, qhull, tri) become built-in modules.
#
# Pinned inputs (sha256 checked on every use):
#   matplotlib 3.11.2      sdist from the Python package index
#   FreeType   2.14.3      Debian's orig tarball (2.14.3+dfsg; the fonts Debian removes are unused)
#   HarfBuzz   12.3.2      Debian's orig tarball (text shaping, for libraqm)
#   libraqm    0.10.5      Debian's orig tarball (matplotlib lays text out with it)
#   SheenBidi  3.0.0       Debian's orig tarball (bidirectional text, for libraqm)
#   Qhull      2020.2      Debian's orig tarball (= Qhull 8.0.2, which matplotlib names)
#   pybind11   3.1.0, meson 1.12.1: py3-none-any wheels (cxx/cxx.sh's)
#
# How: as contourpy.sh (lib.sh's cross_tools, compile_part; cxx/cxx.sh's C++ flags for
# matplotlib's own C++: pybind11 turns C++ exceptions into Python ones). matplotlib builds FreeType, HarfBuzz, libraqm,
# SheenBidi and Qhull as meson subprojects from wrap files; those are rewritten here to name
# Debian's tarballs, put in meson's package cache, so meson downloads nothing; matplotlib's own
# patches and meson files for them are applied as upstream does. The Tk backend's module is not
# built (no Tk in a sandbox), nor is link-time optimisation (objects are linked later, into
# python.wasm).
#
# Output, in ${XDG_CACHE_HOME:-~/.cache}/wasmbox/matplotlib-3.11.2-<hash>/, as numpy.sh's:
#   modules, libs, lib/, site/ (matplotlib, mpl_toolkits, the DejaVu fonts in mpl-data) and
#   tests/, matplotlib's own tests with their baseline images (not installed in python.wasm).
#
# Usage: matplotlib.sh CORE_DIR          build (or reuse) and print the directory
#        matplotlib.sh --dir CORE_DIR    print the directory only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/cxx/cxx.sh"
MPLVER=3.11.2
MPL_SDIST="matplotlib-$MPLVER.tar.gz|$PYPI_FILES/e7/c8/9aa712a0afb882649424dd8de8ad9aa6235e796e84c6052e8f6dc1598d0d/matplotlib-$MPLVER.tar.gz|cec596316640f2b394b8f0daa0ea61a8eae82d017b620b9f202befb972a59ea4"
# Debian's tarballs: subproject|file|pool directory|sha256|directory inside
SUBPROJECTS="
freetype2|freetype_2.14.3+dfsg.orig.tar.xz|main/f/freetype|dc1bec263a6fffa436029efe6428f601d6b1a0b800837508ee3e49bbab8f1006|freetype-2.14.3
harfbuzz|harfbuzz_12.3.2.orig.tar.xz|main/h/harfbuzz|6f6db164359a2da5a84ef826615b448b33e6306067ad829d85d5b0bf936f1bb8|harfbuzz-12.3.2
libraqm|raqm_0.10.5.orig.tar.xz|main/r/raqm|563053e724892a7b037913110ea2daef50ad575d4fa9f7c368ae1e4515f5e856|raqm-0.10.5
sheenbidi|sheenbidi_3.0.0.orig.tar.xz|main/s/sheenbidi|c009ee6153991998f4fa42af7ca3b1494cb716522d85cf8ebd7b869f6a459301|sheenbidi-3.0.0
qhull|qhull_2020.2.orig.tar.gz|main/q/qhull|b5c2d7eb833278881b952c8a52d20179eab87766b00b865000469a45c1838b7e|qhull-2020.2
"

only_dir=0
if [ "${1:-}" = "--dir" ]; then only_dir=1; shift; fi
CORE=${1:?usage: matplotlib.sh [--dir] CORE_DIR}
out="$cache_root/matplotlib-$MPLVER-$(echo "$CORE" | hash_of "$0" "$here/lib.sh" $CXX_FILES "$here/collect.py" "$here/fncasts.py" -)"
if [ $only_dir = 1 ] || [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
[ -f "$CORE/.complete" ] || { echo "matplotlib.sh: $CORE is not a complete CPython core build" >&2; exit 1; }
ensure_packages

fetch_pinned "$MPL_SDIST" "$PYBIND11_WHEEL" "$MESON_WHEEL" "$CYTHON_WHEEL"
while IFS='|' read -r name file pool sum dir; do
  [ -n "$name" ] && fetch_debian "$file" "$pool" "$sum"
done <<<"$SUBPROJECTS"
start_part matplotlib.sh "$out" "$src/matplotlib-$MPLVER.tar.gz"
BUILD_PYTHON=$CORE/native/build/python
# FreeType's rasteriser recovers from a full cell pool with setjmp/longjmp; HarfBuzz is built
# without threads' locks (HB_NO_MT: wasm32-wasi has no pthreads) and reads fonts without mmap
# (HB_NO_MMAP; HarfBuzz includes sys/mman.h, which wasi-libc declares only on request).
# shellcheck disable=SC2086
cross_tools "$W" "$CORE" $SJLJ_FLAGS -DHB_NO_MT -DHB_NO_MMAP -D_WASI_EMULATED_MMAN -msimd128
pybind11_cross "$W" matplotlib.sh
# matplotlib asks the interpreter for os.devnull unless the cross file says.
sed -i "s|^\[properties\]$|[properties]\ndevnull = '/dev/null'|" cross.ini

M=$W/matplotlib-$MPLVER
# The wraps: Debian's tarballs from meson's package cache, with matplotlib's patches and files.
mkdir -p "$M/subprojects/packagecache"
while IFS='|' read -r name file pool sum dir; do
  [ -n "$name" ] || continue
  cp "$src/$file" "$M/subprojects/packagecache/"
  "$BUILD_PYTHON" - "$M/subprojects/$name.wrap" "$file" "$sum" "$dir" "$MIRROR/pool/$pool/$file" <<'PY'
import configparser, pathlib, sys
path, file, sum_, dir_, url = sys.argv[1:]
p = pathlib.Path(path)
wrap = configparser.ConfigParser(interpolation=None)
wrap.read_string(p.read_text())
w = wrap["wrap-file"]
for k in ("source_fallback_url", "wrapdb_version"):
    w.pop(k, None)
w["directory"], w["source_filename"], w["source_hash"], w["source_url"] = dir_, file, sum_, url
with p.open("w") as f:
    wrap.write(f)
PY
done <<<"$SUBPROJECTS"

# matplotlib names HarfBuzz 14's options; Debian's 12 lacks some of them (the features they
# turn off are not built there, or are separate libraries nothing here links).
hb_options=$(tar xJf "$src/harfbuzz_12.3.2.orig.tar.xz" -O harfbuzz-12.3.2/meson_options.txt | grep -o "^option('[a-z_]*'" | cut -d"'" -f2)
# shellcheck disable=SC2046
"$BUILD_PYTHON" - "$M" "$MPLVER" "$(cxx_flags "$CORE/sysroot")" $hb_options <<'PY'
import pathlib, re, sys
root, version, cxx_args, hb_options = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3].split(), set(sys.argv[4:])
def edit(rel, pattern, repl, why, flags=re.S):
    p = root / rel
    s, n = re.subn(pattern, repl, p.read_text(), flags=flags)
    if n != 1:
        sys.exit(f"matplotlib.sh: {rel}: {why}: not found as expected")
    p.write_text(s)
# The version comes from setuptools-scm, which reads git or the sdist's PKG-INFO; it is known.
edit("meson.build", r"version: run_command\(.*?\)\.stdout\(\)\.strip\(\),", f"version: '{version}',",
     "the project version from setuptools-scm")
def hb(m):
    keep = [l for l in m.group(2).splitlines(keepends=True)
            if not (o := re.match(r"\s*'([a-z_]+)=", l)) or o.group(1) in hb_options | {"default_library"}]
    return m.group(1) + "".join(keep) + m.group(3)
edit("extern/meson.build", r"(subproject\('harfbuzz',\s*default_options: \[\n)(.*?)(\s*\]\s*\))", hb,
     "HarfBuzz's options")
# C++ exceptions (pybind11 turns them into Python's) and nothreads.h for matplotlib's own C++
# only: HarfBuzz is C++ built without exceptions, and gets none of the invoke_* calls they cost.
edit("meson.build", r"\n# Enable bug fixes in Agg\n", "\n" + "add_project_arguments(" + repr(cxx_args).replace('"', "'")
     + ", language: 'cpp')\n\n# Enable bug fixes in Agg\n", "the project arguments")
# FreeType reads fonts with stdio (matplotlib hands it Python file objects anyway), not mmap.
edit("extern/meson.build", r"'mmap=auto'", "'mmap=disabled'", "FreeType's mmap option")
# ft2font's enums are made at static initialisation (as a shared library is loaded, after
# Python is up); linked into python.wasm, static initialisers run before Python exists, and
# this one acquiring the GIL was a fatal error. They are made when the module initialises.
edit("src/_enums.h", r"(auto enums = std::unordered_map<std::string, py::object>\{\};\n)",
     r"\1    auto pending = std::vector<std::function<void()>>{};  // wasmbox: run by bind_enums\n",
     "p11x::enums")
edit("src/_enums.h", r"(auto bind_enums\(py::module mod\) -> void\n    \{\n)",
     r"\1      for (auto& make: pending) { make(); }\n      pending.clear();\n", "p11x::bind_enums")
edit("src/_enums.h", r"(auto const P11X_CAT\(enum_placeholder_, __COUNTER__\) = \\\n)(\s*\[\]\(auto args\) \{ \\\n)",
     r"\1        (p11x::pending.emplace_back([] { \\\n\2", "the enum placeholder")
edit("src/_enums.h", r"(\} \(std::vector\{std::pair __VA_ARGS__\}\);)( \\\n)", r"\1 }), 0);\2",
     "the enum placeholder's call")
edit("src/_enums.h", r"(#include <pybind11/pybind11.h>\n)", r"\1#include <functional>\n#include <vector>\n", "the includes")
# No Tk in a sandbox.
edit("src/meson.build", r"\n  '_tkagg': \{.*?\n  \},", "", "the _tkagg extension")
PY

ts "matplotlib 1. configure"
cd "$M"
PATH=$W/tools:$PATH PYTHONPATH=$W/meson "$W/tools/python" -m mesonbuild.mesonmain setup \
  --cross-file "$W/cross.ini" --wrap-mode=nodownload --buildtype=release -Doptimization=3 \
  -Db_ndebug=if-release -Db_lto=false -Dwerror=false -DrcParams-backend=Agg \
  "$W/b" > "$W/setup.out" 2>&1 || { tail -60 "$W/setup.out" >&2; exit 1; }

# matplotlibrc is made from a template by a build step (the default backend set); compile_part
# builds objects and archives only.
(cd "$W/b" && ninja lib/matplotlib/mpl-data/matplotlibrc > /dev/null)
compile_part matplotlib
# The tests and their baseline images are for make test, not for python.wasm.
mkdir -p "$out/tests"
for t in matplotlib/tests mpl_toolkits/axes_grid1/tests mpl_toolkits/axisartist/tests mpl_toolkits/mplot3d/tests; do
  if [ -d "$out/site/$t" ]; then
    mkdir -p "$out/tests/$(dirname "$t")" && mv "$out/site/$t" "$out/tests/$t"
  fi
done
# mpl_toolkits is a namespace package, which zipimport does not find: it gets an __init__.py.
[ -d "$out/site/mpl_toolkits/mplot3d" ] && [ ! -e "$out/site/mpl_toolkits/__init__.py" ] ||
  { echo "matplotlib.sh: mpl_toolkits is not the namespace package it was" >&2; exit 1; }
echo '"""mpl_toolkits (a namespace package elsewhere; zipimport needs this file)."""' > "$out/site/mpl_toolkits/__init__.py"
finish_part
