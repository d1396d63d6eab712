#!/usr/bin/env bash
# Lays out the pure-Python packages that analysts reach for (spreadsheets, tables, symbolic maths,
# graphs, HTML, YAML, dates and time zones, and matplotlib's pure-Python dependencies and seaborn)
# as source trees, ready to be compiled into the stdlib
# zip next to CPython's own modules. The caller compiles the .py files to .pyc; this script only
# downloads, checks, unpacks and prunes.
#
# Why these files and not pip: the guest has no pip, no network, no threads, no subprocess and no
# C extensions beyond CPython's stdlib, so only py3-none-any wheels are used (a wheel is a zip of
# the installed files) and each package must work without its optional accelerators: PyYAML
# without libyaml (its wheels are platform-specific, so lib/yaml/ is taken from its sdist),
# sympy and mpmath without gmpy2, bs4 with html.parser instead of lxml.
#
# Pinned inputs (newest release supporting CPython 3.13 at the time of pinning, sha256 checked on
# every use), from the Python package index:
#   openpyxl           3.1.5        needs et-xmlfile
#   et-xmlfile         2.0.0
#   tabulate           0.10.0       reads its own version with importlib.metadata at import
#   sympy              1.14.0       needs mpmath <1.4
#   mpmath             1.3.0        not 1.4.x: sympy 1.14.0 requires mpmath<1.4
#   networkx           3.7          numpy/scipy/matplotlib are optional and imported lazily
#   beautifulsoup4     4.15.0       needs soupsieve, and typing-extensions at import
#   soupsieve          4.1.4
#   typing-extensions  4.16.0
#   PyYAML             6.0.4        sdist; lib/yaml/ only (pure Python; yaml.CLoader is absent)
#   python-dateutil    4.0.0        needs tzdata, no longer six; pandas 3.1 accepts it (>=2.9.0)
#   pytz               2026.6       reads its zoneinfo/ with importlib.resources, so works from a zip
#   tzdata             2026.6       the IANA database as a package (zoneinfo, dateutil, pandas)
#   fonttools          4.68.0       matplotlib's PDF/PS/SVG font subsetting; pure wheel (no cu2qu accelerator)
#   cycler             0.12.1       matplotlib's property cycles
#   pyparsing          3.3.3        matplotlib's mathtext and font-pattern parsers
#   packaging          26.4         matplotlib compares versions with it at import
#   seaborn            0.13.2       statistical plots on matplotlib and pandas
# At runtime they import only each other and CPython's stdlib (ctypes aside, see the patch below):
# nothing needs six, so it is not included.
#
# What is kept of each package: its importable files and its *.dist-info/ (METADATA,
# entry_points.txt, licences), without RECORD (its hashes describe an installation that this is
# not), so importlib.metadata.version("openpyxl") works. What is dropped: __pycache__, test
# suites (every */tests/ directory and conftest.py; sympy's benchmarks/ and its autolev
# test-examples/), the *.data/ directories of wheels (sympy's isympy man page), C sources.
# sympy/testing/ is kept: sympy imports it itself. The script fails if a package ships a C
# extension, if a download or checksum fails, or if a package's files are not where the table
# says after unpacking.
#
# One patch: sympy 1.14.0 imports ctypes at import time (sympy/external/gmpy.py, only for
# sizeof(c_long)), and the guest has no _ctypes, so `import sympy` would fail. struct.calcsize('l')
# is the same C long size without ctypes; the patch is checked to apply exactly once.
#
# For the caller: besides the .py files, OUTDIR holds files the packages read at run time and
# that must go into the zip as they are: the *.dist-info/ directories (tabulate reads its own
# version at import), tzdata/zoneinfo/, pytz/zoneinfo/, networkx/generators/atlas.dat.gz,
# sympy's .xsl and .lark files. From a zip, pytz's first timezone() call probes each of its ~600
# zones through importlib.resources, which re-reads the zip's directory every time (18 s on the
# native build Python); PYTZ_TZDATADIR=/usr/share/zoneinfo in the guest avoids that (pytz also
# reads zone.tab and iso3166.tab there).
#
# Usage: wheels.sh OUTDIR    recreate OUTDIR with the packages, laid out as in site-packages
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# name|version|top-level names it installs|file|url|sha256
# (PyYAML is an sdist: its top-level name is taken from lib/ in the tarball.)
PACKAGES=(
  "openpyxl|3.1.5|openpyxl|openpyxl-3.1.5-py2.py3-none-any.whl|$PYPI_FILES/c0/da/977ded879c29cbd04de313843e76868e6e13408a94ed6b987245dc7c8506/openpyxl-3.1.5-py2.py3-none-any.whl|5282c12b107bffeef825f4617dc029afaf41d0ea60823bbb665ef3079dc79de2"
  "et-xmlfile|2.0.0|et_xmlfile|et_xmlfile-2.0.0-py3-none-any.whl|$PYPI_FILES/c1/8b/5fe2cc11fee489817272089c4203e679c63b570a5aaeb18d852ae3cbba6a/et_xmlfile-2.0.0-py3-none-any.whl|7a91720bc756843502c3b7504c77b8fe44217c85c537d85037f0f536151b2caa"
  "tabulate|0.10.0|tabulate|tabulate-0.10.0-py3-none-any.whl|$PYPI_FILES/99/55/db07de81b5c630da5cbf5c7df646580ca26dfaefa593667fc6f2fe016d2e/tabulate-0.10.0-py3-none-any.whl|f0b0622e567335c8fabaaa659f1b33bcb6ddfe2e496071b743aa113f8774f2d3"
  "sympy|1.14.0|sympy isympy|sympy-1.14.0-py3-none-any.whl|$PYPI_FILES/a2/09/77d55d46fd61b4a135c444fc97158ef34a095e5681d0a6c10b75bf356191/sympy-1.14.0-py3-none-any.whl|e091cc3e99d2141a0ba2847328f5479b05d94a6635cb96148ccb3f34671bd8f5"
  "mpmath|1.3.0|mpmath|mpmath-1.3.0-py3-none-any.whl|$PYPI_FILES/43/e3/7d92a15f894aa0c9c4b49b8ee9ac9850d6e63b03c9c32c0367a13ae62209/mpmath-1.3.0-py3-none-any.whl|a0b2b9fe80bbcd81a6647ff13108738cfb482d481d826cc0e02f5b35e5c88d2c"
  "networkx|3.7|networkx|networkx-3.7-py3-none-any.whl|$PYPI_FILES/7e/cd/fe58041e9011f307c490e3e17dd48cc516448f7c698a3f2d9d9d65d7e6a8/networkx-3.7-py3-none-any.whl|e3fd2c13a7814cee3746340d8d7f8598a67f16a58bf47fb7f8793fab6efca1b0"
  "beautifulsoup4|4.15.0|bs4|beautifulsoup4-4.15.0-py3-none-any.whl|$PYPI_FILES/88/c6/92fcd42f1ba33e1184263f25bfabf3d27c383410470f169e4b8163bf9c17/beautifulsoup4-4.15.0-py3-none-any.whl|d6f88de62e1d4e38ecb1077eb9724cd0eff29d2a08ca16a401e9b9e93f117cf9"
  "soupsieve|4.1.4|soupsieve|soupsieve-4.1.4-py3-none-any.whl|$PYPI_FILES/e6/50/3ff53ec2d16bac3a7b21def7c2773a32a5aebe45d01c6adf96b685cb6504/soupsieve-4.1.4-py3-none-any.whl|03bbb16915c1e13a4746fdc84a97e5999888aae3208516604d7bfc786aba0aef"
  "typing-extensions|4.16.0|typing_extensions|typing_extensions-4.16.0-py3-none-any.whl|$PYPI_FILES/49/d3/b8441a820a491ddfc024b0b0cf0393375b75ea13866d9c66727e54c2fc80/typing_extensions-4.16.0-py3-none-any.whl|481caa481374e813c1b176ada14e97f1f67a4539ce9cfeb3f350d78d6370c2e8"
  "PyYAML|6.0.4|yaml|pyyaml-6.0.4.tar.gz|$PYPI_FILES/76/b8/c0b780928e2fb1c87e9e375818c6f121da2398b071012d1747be300b83f4/pyyaml-6.0.4.tar.gz|e24bf71af8a432d7808fabff134d38dfe16d3cbb41f2873bb4b1e42422de0a1a"
  "python-dateutil|4.0.0|dateutil|python_dateutil-4.0.0-py3-none-any.whl|$PYPI_FILES/2f/a9/52b89563d154433d79b51ed1eb4842bf7334cb2696891a7fe135618853d7/python_dateutil-4.0.0-py3-none-any.whl|a5e246f79eb80475e691bf93862cead98decd8a498cf53ba0516fcdc0f50dc1c"
  "pytz|2026.6|pytz|pytz-2026.6-py2.py3-none-any.whl|$PYPI_FILES/b6/25/564f3fc5b70c1398d706c51f2b1470d0ea0b1b2f96fee67877b6f5bdf3b6/pytz-2026.6-py2.py3-none-any.whl|7fed3fee8fd6bd4a2b7b75a8d56021d0624127bf69bd5691f115db929ac570b3"
  "tzdata|2026.6|tzdata|tzdata-2026.6-py2.py3-none-any.whl|$PYPI_FILES/0a/66/9a06c2227fedfd4919f0eaaa8b94377d9730882a7e4f95823c9a331ab5e1/tzdata-2026.6-py2.py3-none-any.whl|0a10eec6e13ef16b627fabed9a5f2ba61a62b1c67f327305f4e7e412a70b4aec"
  "fonttools|4.68.0|fontTools|fonttools-4.68.0-py3-none-any.whl|$PYPI_FILES/35/74/4ea331ecc65ba05a58b1e4e8ccd604c8a15565f876dfbf93fc2a2ea2e22b/fonttools-4.68.0-py3-none-any.whl|d76f8fdcb6936f5e1045a0c9dd721a4bf11112e60d1e243bfa1d39f06a8b3104"
  "cycler|0.12.1|cycler|cycler-0.12.1-py3-none-any.whl|$PYPI_FILES/e7/05/c19819d5e3d95294a6f5947fb9b9629efb316b96de511b418c53d245aae6/cycler-0.12.1-py3-none-any.whl|85cef7cff222d8644161529808465972e51340599459b8ac3ccbac5a854e0d30"
  "pyparsing|3.3.3|pyparsing|pyparsing-3.3.3-py3-none-any.whl|$PYPI_FILES/38/bb/d215ee7c73b61497b28a5503f9f53523f294fcc936762b7caf90e0c1c2b5/pyparsing-3.3.3-py3-none-any.whl|ece8c00a69cf01b45d0b1dedabb469c90d8caf996d4fda40f147627a122849a4"
  "packaging|26.4|packaging|packaging-26.4-py3-none-any.whl|$PYPI_FILES/ba/7b/5504f91c9c2733f693d7759e50ede5d27119d4da7e5836c46d3b5ff81d56/packaging-26.4-py3-none-any.whl|81383611a09c1bc0b08b76e0fd5829d7c6824c65b27a6aee339da133f4233ea2"
  "seaborn|0.13.2|seaborn|seaborn-0.13.2-py3-none-any.whl|$PYPI_FILES/83/11/00d3c3dfc25ad54e731d91449895a79e4bf2384dc3ac01809010ba88f6d5/seaborn-0.13.2-py3-none-any.whl|636f8336facf092165e27924f223d3c62ca560b1f2bb5dff7ab7fad265361987"
)

die() { echo "wheels.sh: $*" >&2; exit 1; }

OUT=${1:?usage: wheels.sh OUTDIR}
need_tools wheels.sh curl unzip tar sha256sum
check_outdir wheels.sh "$OUT" "openpyxl-*.dist-info"

. "$here/wheel.sh"

# replace_line FILE OLD NEW: replace the line OLD, which must occur exactly once in FILE, by NEW.
replace_line() {
  local n
  n=$(grep -cxF -- "$2" "$1") || true
  [ "$n" = 1 ] || die "${1#"$OUT"/}: expected the line '$2' once, found it $n times; check the patch"
  OLD=$2 NEW=$3 awk '$0 == ENVIRON["OLD"] { print ENVIRON["NEW"]; next } { print }' "$1" > "$1.new"
  mv "$1.new" "$1"
}

# usage DIR: "N files, B bytes" (the files' own sizes, as they will weigh in the zip before
# compilation; du would add directory blocks).
usage() { find "$1" -type f -printf '%s\n' | awk '{n++; b+=$1} END {printf "%d files, %d bytes (%.1f MB)", n, b, b/1e6}'; }

ts "1. downloads"
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name version tops file url sum <<<"$entry"
  [ "${url##*/}" = "$file" ] || die "$name: the URL does not end in $file"
  fetch "$file" "$url" "$sum"
done

ts "2. unpack into $OUT"
rm -rf "$OUT" && mkdir -p "$OUT"
work=$(mktemp -d)
complete=0
trap 'rm -rf "$work"; [ "$complete" = 1 ] || rm -rf "$OUT"' EXIT
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name version tops file url sum <<<"$entry"
  u=$work/$name
  mkdir -p "$u"
  case $file in
    *.whl)
      unpack_wheel "$src/$file" "$u" "$name" "$version"
      ;;
    *.tar.gz)
      # The sdist's pure-Python package from lib/, and its PKG-INFO (the same format as METADATA)
      # and licence laid out as the dist-info an installation would have made.
      top=${file%.tar.gz}
      for t in $tops; do
        tar xzf "$src/$file" -C "$work" "$top/lib/$t" || die "$name: no lib/$t in $file"
        mv "$work/$top/lib/$t" "$u/"
      done
      tar xzf "$src/$file" -C "$work" "$top/PKG-INFO" "$top/LICENSE" || die "$name: no PKG-INFO or LICENSE in $file"
      distinfo="$(normalize "$name" | tr - _)-$version.dist-info"
      mkdir -p "$u/$distinfo/licenses"
      mv "$work/$top/PKG-INFO" "$u/$distinfo/METADATA"
      mv "$work/$top/LICENSE" "$u/$distinfo/licenses/"
      check_metadata "$u/$distinfo" "$name" "$version"
      ;;
    *) die "$name: $file is neither a wheel nor an sdist" ;;
  esac
  for t in $tops; do
    [ -f "$u/$t/__init__.py" ] || [ -f "$u/$t.py" ] || die "$name: $t is not in $file (no $t/__init__.py or $t.py)"
  done
  # Besides the importable names and the dist-info, a wheel may only have a .data directory
  # (files installed outside site-packages: dropped); anything else means its layout changed.
  for e in "$u"/*; do
    b=${e##*/}
    case " $tops $distinfo " in *" $b "* | *" ${b%.py} "*) continue ;; esac
    case $b in *.data) rm -rf "$e"; continue ;; esac
    die "$name: $file has $b, which the table does not list; check it and update the table"
  done
  for e in "$u"/*; do
    [ ! -e "$OUT/${e##*/}" ] || die "$name: ${e##*/} is also installed by another package"
    mv "$e" "$OUT/"
  done
done

ts "3. prune: $(usage "$OUT") before"
# The guest cannot load native code: a wheel that carries some is the wrong wheel.
native=$(find "$OUT" -type f \( -name '*.so' -o -name '*.pyd' -o -name '*.dylib' \) | head -5)
[ -z "$native" ] || die "compiled extensions found, which the guest cannot load: $native"
find "$OUT" -depth -type d \( -name __pycache__ -o -name tests -o -name benchmarks -o -name test-examples \) \
  -exec rm -rf {} +
find "$OUT" -type f \( -name conftest.py -o -name '*.pyc' -o -name '*.c' -o -name '*.h' -o -name '*.pyx' \
  -o -name '*.pxd' \) -delete
[ -f "$OUT/sympy/testing/__init__.py" ] || die "sympy/testing was pruned, but sympy imports it"
ts "   $(usage "$OUT") after, in $OUT"

ts "4. patch"
replace_line "$OUT/sympy/external/gmpy.py" "from ctypes import c_long, sizeof" "from struct import calcsize"
replace_line "$OUT/sympy/external/gmpy.py" "LONG_MAX = (1 << (8*sizeof(c_long) - 1)) - 1" \
  "LONG_MAX = (1 << (8*calcsize('l') - 1)) - 1"
complete=1
