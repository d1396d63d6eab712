#!/usr/bin/env bash
# SeaweedFS's `weed` (Apache-2.0), the S3-compatible object store the cluster tests start: built
# from its module source, pinned by version and sha256, and cached under ~/.cache/wasmbox.
# Prints the path of the binary. Its dependencies come from the Go module proxy, checked against
# the module's own go.sum.
#
#   scripts/seaweedfs.sh          build if needed, print the binary's path
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../wasm/cpython/lib.sh
. "$here/../wasm/cpython/lib.sh"

VERSION=v0.0.0-20261109003541-7506e5f91cd6 # `weed version`: 4.53
SHA256=936224fad4c98289ea5bb2e0470e8b2cd2fd08059c102f2241ca7d4c9341edf6
GOPROXY_URL=${GOPROXY_URL:-https://proxy.golang.org}
GO=${GO:-go}

key=$(printf '%s %s' "$VERSION" "$($GO env GOVERSION)" | sha256sum | cut -c1-16)
out=$cache_root/seaweedfs-$key
if [ -x "$out/weed" ]; then
  echo "$out/weed"
  exit 0
fi

zip=seaweedfs-$VERSION.zip
fetch "$zip" "$GOPROXY_URL/github.com/seaweedfs/seaweedfs/@v/$VERSION.zip" "$SHA256"
work=$(mktemp -d "${TMPDIR:-/tmp}/seaweedfs-build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
echo "[seaweedfs $(date +%T)] building weed $VERSION (a few minutes, once)" >&2
(cd "$work" && unzip -q "$src/$zip")
mod="$work/github.com/seaweedfs/seaweedfs@$VERSION"
mkdir -p "$out.tmp"
(cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=readonly $GO build -trimpath -ldflags '-s -w' -o "$out.tmp/weed" ./weed)
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out/weed"
