#!/usr/bin/env bash
# Lays out pytest and hypothesis, with what they import at run time on CPython 3.13, as a
# site-packages directory for running numpy's (and later pandas') own test suites inside the
# sandbox (runtime/python/pkgtests_test.go). They are test tools, not something users get: they
# are not compiled into the stdlib zip; the test copies OUTDIR into the sandbox's workspace and
# puts it on sys.path.
#
# Why these: numpy's conftest.py imports pytest and hypothesis, and so do several numpy and
# pandas test modules. pandas' Excel writer tests are skipped without xlrd (their marks ask for
# it, though they read .xlsx back with openpyxl). On CPython 3.13 pytest needs neither
# exceptiongroup nor tomli (both are for < 3.11), and colorama only on Windows. py3-none-any wheels only: the guest loads no native code.
#
# Pinned inputs (newest release supporting CPython 3.13 at the time of pinning, sha256 checked on
# every use), from the Python package index:
#   pytest            9.2.0     needs iniconfig, packaging, pluggy, pygments
#   pluggy            1.7.0     pytest wants >=1.6,<2
#   iniconfig         2.3.1
#   packaging         26.4
#   pygments          2.21.0    imported by pytest's terminal writer at import (since pytest 8.4)
#   hypothesis        6.155.7   needs sortedcontainers; its pytest plugin is found through its
#                               entry point (pytest11), so its dist-info must be kept
#   sortedcontainers  2.4.0
#   xlrd              2.0.2     pandas' Excel writer tests
# hypothesis no longer depends on attrs (its METADATA lists sortedcontainers only), so attrs is
# not included.
#
# What is kept of each wheel: its importable files and its *.dist-info/ without RECORD (pytest
# finds plugins through entry_points.txt; importlib.metadata reads versions), not the scripts an
# installer would put in bin/ (xlrd's *.data/scripts). The script fails
# if a download or checksum fails, if a wheel carries native code, or if a wheel's files are not
# those the table lists.
#
# Usage: testdeps.sh OUTDIR    recreate OUTDIR with the packages, laid out as in site-packages
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# name|version|top-level names it installs|file|url|sha256
PACKAGES=(
  "pytest|9.2.0|pytest _pytest py|pytest-9.2.0-py3-none-any.whl|$PYPI_FILES/51/39/1f5d8c8877a0fa327db959c19341d4be61660de1ab6b7391f9eb805bcd67/pytest-9.2.0-py3-none-any.whl|07acdcf88ec174f907dc01af70bf52d49b014bbab03faeeade31c96b18c2e588"
  "pluggy|1.7.0|pluggy|pluggy-1.7.0-py3-none-any.whl|$PYPI_FILES/40/9e/2b38731e0fc536806f16490e1a12d7f0dc2a1235aa8cc07bcc75416a7daa/pluggy-1.7.0-py3-none-any.whl|7dd7b0d8832ba3cb632c306926ded123429211b83641b35dc5c41ad2d34f9bec"
  "iniconfig|2.3.1|iniconfig|iniconfig-2.3.1-py3-none-any.whl|$PYPI_FILES/56/43/4ca9e49d27a1fcf6bece6f6aec0ea46bb9112489b93d4b688fb415457bdb/iniconfig-2.3.1-py3-none-any.whl|9121e2c1fdb355232495be3194c8dfe87ccc2d5dee45947b78e68f499790d7a7"
  "packaging|26.4|packaging|packaging-26.4-py3-none-any.whl|$PYPI_FILES/ba/7b/5504f91c9c2733f693d7759e50ede5d27119d4da7e5836c46d3b5ff81d56/packaging-26.4-py3-none-any.whl|81383611a09c1bc0b08b76e0fd5829d7c6824c65b27a6aee339da133f4233ea2"
  "pygments|2.21.0|pygments|pygments-2.21.0-py3-none-any.whl|$PYPI_FILES/71/46/17f022dd3e953bf20a04a028a21ec746d942f8d2af30fa0f124fa0e6a684/pygments-2.21.0-py3-none-any.whl|2363c69b61c4a97c838da3b130dcd6468f4848992b21a82f2a63ec34377137d9"
  "hypothesis|6.155.7|hypothesis _hypothesis_pytestplugin _hypothesis_globals _hypothesis_ftz_detector|hypothesis-6.155.7-py3-none-any.whl|$PYPI_FILES/01/f8/c151e196d4f397ed9436a071e52666c70a2f021138dea828b0a461e245db/hypothesis-6.155.7-py3-none-any.whl|9f634bdb1f9e9b8ab6ba09431cf2deedb750c96978125a6fb3c5a0f6c6db4131"
  "sortedcontainers|2.4.0|sortedcontainers|sortedcontainers-2.4.0-py2.py3-none-any.whl|$PYPI_FILES/32/46/9cb0e58b2deb7f82b84065f37f3bffeb12413f947f9388e4cac22c4621ce/sortedcontainers-2.4.0-py2.py3-none-any.whl|a163dcaede0f1c021485e957a39245190e74249897e2ae4b2aa38595db237ee0"
  "xlrd|2.0.2|xlrd|xlrd-2.0.2-py2.py3-none-any.whl|$PYPI_FILES/1a/62/c8d562e7766786ba6587d09c5a8ba9f718ed3fa8af7f4553e8f91c36f302/xlrd-2.0.2-py2.py3-none-any.whl|ea762c3d29f4cca48d82df517b6d89fbce4db3107f9d78713e48cd321d5c9aa9"
)

die() { echo "testdeps.sh: $*" >&2; exit 1; }
. "$here/wheel.sh"

OUT=${1:?usage: testdeps.sh OUTDIR}
need_tools testdeps.sh curl unzip sha256sum
check_outdir testdeps.sh "$OUT" "pytest-*.dist-info"

ts "testdeps 1. downloads"
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name version tops file url sum <<<"$entry"
  [ "${url##*/}" = "$file" ] || die "$name: the URL does not end in $file"
  case $file in *-none-any.whl) ;; *) die "$name: $file is not a pure-Python (none-any) wheel" ;; esac
  fetch "$file" "$url" "$sum"
done

ts "testdeps 2. unpack into $OUT"
rm -rf "$OUT" && mkdir -p "$OUT"
work=$(mktemp -d)
complete=0
trap 'rm -rf "$work"; [ "$complete" = 1 ] || rm -rf "$OUT"' EXIT
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name version tops file url sum <<<"$entry"
  u=$work/$name
  mkdir -p "$u"
  unpack_wheel "$src/$file" "$u" "$name" "$version"
  for d in "$u"/*.data; do
    [ -e "$d" ] || continue
    [ "$(ls "$d")" = scripts ] || die "$name: $file's ${d##*/} holds more than scripts; check it and update the script"
    rm -rf "$d"
  done
  for t in $tops; do
    [ -f "$u/$t/__init__.py" ] || [ -f "$u/$t.py" ] || die "$name: $t is not in $file (no $t/__init__.py or $t.py)"
  done
  for e in "$u"/*; do
    b=${e##*/}
    case " $tops $distinfo " in *" $b "* | *" ${b%.py} "*) ;;
      *) die "$name: $file has $b, which the table does not list; check it and update the table" ;;
    esac
    [ ! -e "$OUT/$b" ] || die "$name: $b is also installed by another package"
    mv "$e" "$OUT/"
  done
done

native=$(find "$OUT" -type f \( -name '*.so' -o -name '*.pyd' -o -name '*.dylib' \) | head -5)
[ -z "$native" ] || die "compiled extensions found, which the guest cannot load: $native"
find "$OUT" -depth -type d -name __pycache__ -exec rm -rf {} +
ts "testdeps: $(find "$OUT" -type f | wc -l) files in $OUT"
complete=1
