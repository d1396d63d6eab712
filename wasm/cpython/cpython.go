// Package cpython embeds CPython compiled for wasm32-wasi and its standard library.
//
// Neither file is committed: build.sh builds them from Debian's pinned source tarballs (sha256
// checked) into a cache outside the repository and copies them here, where go:embed finds them.
// `make build` runs it; a build without them fails at compile time with a pattern error.
package cpython

import "embed"

// Version is the CPython release that build.sh builds; a test asserts the embedded interpreter
// reports it.
const Version = "3.13.5"

// StdlibZip is the name of the standard library's zip in [Files]: CPython's default sys.path
// looks for it as $PYTHONHOME/lib/python<major><minor>.zip.
const StdlibZip = "python313.zip"

// Wasm is python.wasm: CPython for WASI preview 1, -O2, pymalloc, with zlib, bz2, lzma and
// sqlite3 linked in.
//
//go:embed python.wasm
var Wasm []byte

// Files holds python313.zip ([StdlibZip]), the standard library as a zip of precompiled .pyc
// files (no sources, tests or modules that cannot work under WASI), mounted read-only at the
// guest's /usr/local/lib.
//
//go:embed python313.zip
var Files embed.FS

// Zoneinfo is Debian's time zone database (zone files only), served read-only at the guest's
// /usr/share/zoneinfo, where zoneinfo's default TZPATH looks.
//
//go:embed zoneinfo
var Zoneinfo embed.FS

// MplData is matplotlib's data directory (its fonts, style sheets and matplotlibrc, which names
// Agg as the backend), served read-only at the guest's /usr/share/matplotlib/mpl-data:
// matplotlib reads these as files, which a zip cannot give it.
//
//go:embed all:mpl-data
var MplData embed.FS
