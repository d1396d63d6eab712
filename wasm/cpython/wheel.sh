# Shared by wheels.sh and testdeps.sh (sourced after lib.sh; both define die): what they check
# of the wheels they unpack.

# normalize NAME: the project name as the package index compares it (PEP 503).
normalize() { echo "$1" | tr '[:upper:]' '[:lower:]' | sed -E 's/[-_.]+/-/g'; }

# field FILE KEY: the value of the first "KEY: value" header of a METADATA file.
field() { sed -n "s/^$2: //p" "$1" | head -1 | tr -d '\r'; }

# check_metadata DISTINFO NAME VERSION: the unpacked files are the release the table pins.
check_metadata() {
  local m=$1/METADATA
  [ -f "$m" ] || die "$2: no METADATA in ${1##*/}"
  [ "$(normalize "$(field "$m" Name)")" = "$(normalize "$2")" ] || die "$2: its METADATA names $(field "$m" Name)"
  [ "$(field "$m" Version)" = "$3" ] || die "$2: its METADATA says version $(field "$m" Version), the table $3"
}

# unpack_wheel WHEEL DIR NAME VERSION: unzips WHEEL into DIR, checks that it holds one
# .dist-info of the pinned release, drops its RECORD (hashes of an installation this is not,
# and of files pruned later) and sets distinfo to its name.
unpack_wheel() {
  unzip -q "$1" -d "$2"
  distinfo=$(cd "$2" && compgen -G "*.dist-info") || die "$3: no .dist-info in ${1##*/}"
  [ "$(echo "$distinfo" | wc -l)" = 1 ] || die "$3: several .dist-info in ${1##*/}"
  check_metadata "$2/$distinfo" "$3" "$4"
  rm -f "$2/$distinfo/RECORD"
}
