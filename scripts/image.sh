#!/usr/bin/env bash
# Builds the Space image from the Dockerfile: with Docker where its engine runs, else with podman
# (Debian's; installed with apt when missing). Base images the Dockerfile names that are neither
# local nor pullable (no registry reachable) are made here from a debootstrap root of Debian 12:
#   debian:bookworm-slim    the minbase root, slimmed as Debian's slim images are
#   golang:<ver>-bookworm   the same root and this machine's Go toolchain at /usr/local/go
# and tagged with those names locally only. The build mounts this machine's build caches (the
# CPython/numpy/pandas/matplotlib cache of wasm/cpython, Go's module and build caches) into the
# build stage when the engine is podman, so `make build` inside it reuses what the host built
# with the same toolchain versions; a cold build inside the image builds everything (about half
# an hour on 2 cores).
# Usage: scripts/image.sh [--base-only] [TAG]   (default localhost/wasmbox:latest); prints the
# image's name and size in bytes.
#        scripts/image.sh --env   prints the engine's command line and the run flags this host
#                                 needs, as shell exports (WASMBOX_CONTAINER_ENGINE, _ARGS)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=""
case ${1:-} in --base-only | --env) mode=$1; shift ;; esac
tag=${1:-${WASMBOX_IMAGE:-localhost/wasmbox:latest}}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/wasmbox
log() { echo "[image $(date +%T)] $*" >&2; }
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo

nofile() { local n; n=$(ulimit -Hn); [ "$n" = unlimited ] || [ "$n" -gt 65536 ] && n=65536; echo "$n"; }

engine=()
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=(docker)
else
  if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
    log "installing podman, runc and debootstrap with apt"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends podman runc debootstrap uidmap >&2
  fi
  # runc: crun refuses hosts with hybrid cgroups; cgroupfs: no systemd to ask.
  read -r -a engine <<<"podman ${WASMBOX_PODMAN_FLAGS:---runtime runc --cgroup-manager cgroupfs}"
fi
# Explicit limits: the engine's defaults may exceed what the host lets a container set (here
# podman's 1048576 open files; above 32768 processes runc was refused).
read -r -a ulimits <<<"${WASMBOX_CONTAINER_ULIMITS:---ulimit nofile=$(nofile):$(nofile) --ulimit nproc=4096:4096}"
if [ "$mode" = --env ]; then
  printf 'export WASMBOX_CONTAINER_ENGINE=%q WASMBOX_CONTAINER_ARGS=%q\n' "${engine[*]}" "${ulimits[*]}"
  exit 0
fi

# --- base images ----------------------------------------------------------------------------
# rootfs: a Debian 12 minbase root as a tarball, cached for a week (Debian's point releases
# change it; nothing in it is pinned beyond the release).
rootfs() {
  local tar=$cache/images/debian-bookworm-minbase-$recipe.tar
  if [ -f "$tar" ] && [ -n "$(find "$tar" -mtime -7)" ]; then
    echo "$tar"
    return
  fi
  log "debootstrap: Debian 12 (bookworm) minbase"
  mkdir -p "$cache/images"
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  $sudo debootstrap --variant=minbase bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$root.log" 2>&1 ||
    { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
  rm -f "$root.log"
  # As Debian's slim images: no documentation, manual pages or translations installed later,
  # no package lists or downloaded packages kept.
  $sudo tee "$root/etc/dpkg/dpkg.cfg.d/slim" >/dev/null <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  # As Debian's images: apt keeps no downloaded packages or package caches after it runs, so a
  # Dockerfile's `rm -rf /var/lib/apt/lists/*` leaves nothing of apt behind.
  $sudo tee "$root/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' | $sudo tee "$root/etc/apt/apt.conf.d/docker-no-languages" >/dev/null
  $sudo sh -c "cd '$root' && find usr/share/doc -mindepth 2 ! -name copyright -delete 2>/dev/null; rm -rf usr/share/man/* usr/share/info/* usr/share/locale/* var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/log/*.log"
  # The suites Debian's own images list: updates and security besides the release.
  printf '%s\n' "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" | $sudo tee -a "$root/etc/apt/sources.list" >/dev/null
  $sudo tar -C "$root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
  echo "$tar"
}

# Base images made here carry the recipe's hash (the functions that make them), so a changed
# recipe makes them again; pulled ones carry none and are kept.
have_image() {
  local label
  label=$("${engine[@]}" image inspect --format '{{index .Labels "org.wasmbox.recipe"}}' "$1" 2>/dev/null) || return 1
  case $label in "" | "<no value>" | "$recipe") return 0 ;; *) return 1 ;; esac
}

base_image() { # NAME as the Dockerfile's FROM says it
  local name=$1 full=$1
  case $name in */*) ;; *) full=docker.io/library/$name ;; esac
  have_image "$full" && return
  if timeout 60 "${engine[@]}" pull -q "$full" >/dev/null 2>&1; then
    log "pulled $full"
    return
  fi
  log "$full: not local and not pullable; making it from a debootstrap root"
  local tar
  tar=$(rootfs)
  case $name in
  debian:*)
    "${engine[@]}" import --change 'CMD ["bash"]' --change "LABEL org.wasmbox.recipe=$recipe" "$tar" "$full" >/dev/null
    ;;
  golang:*)
    local goroot want have dir
    goroot=$(go env GOROOT)
    have=$(go env GOVERSION)
    want=${name#golang:}
    want=${want%%-*}
    case $have in "go$want" | "go$want".*) ;; *)
      echo "the Dockerfile wants Go $want; this machine has $have" >&2
      exit 1
      ;;
    esac
    dir=$(mktemp -d)
    cp "$tar" "$dir/root.tar"
    # The toolchain as the official image lays it out: /usr/local/go, GOPATH=/go.
    tar -C "$(dirname "$goroot")" --transform "s|^$(basename "$goroot")|usr/local/go|" -rf "$dir/root.tar" "$(basename "$goroot")"
    "${engine[@]}" import --change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV GOPATH=/go' --change "ENV GOLANG_VERSION=${have#go}" --change 'ENV GOTOOLCHAIN=local' \
      --change 'WORKDIR /go' --change "LABEL org.wasmbox.recipe=$recipe" "$dir/root.tar" "$full" >/dev/null
    rm -rf "$dir"
    ;;
  *)
    echo "no recipe for base image $name" >&2
    exit 1
    ;;
  esac
}

recipe=$(declare -f rootfs base_image | sha256sum | cut -c1-16)
for from in $(awk 'toupper($1) == "FROM" { print $2 }' Dockerfile); do
  base_image "$from"
done
[ "$mode" = --base-only ] && exit 0

# --- the image ------------------------------------------------------------------------------
mounts=()
if [ "${engine[0]}" = podman ]; then
  mkdir -p "$cache" "$(go env GOMODCACHE)" "$(go env GOCACHE)"
  # --format docker: the OCI image format has no HEALTHCHECK, and podman drops it there.
  mounts=(--format docker -v "$cache:/root/.cache/wasmbox" -v "$(go env GOMODCACHE):/go/pkg/mod" -v "$(go env GOCACHE):/root/.cache/go-build")
fi
# Certificates this host added to its trust store (a TLS-inspecting proxy's): the build stage
# trusts them too, or it could not download from the Go module proxy and npm through it.
extra_ca=""
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$crt" ] && extra_ca+="$(cat "$crt")"$'\n'
done
log "building $tag with ${engine[*]}${extra_ca:+ (its build stage trusting the CA certificates added to this host)}"
start=$(date +%s)
"${engine[@]}" build --network host "${ulimits[@]}" "${mounts[@]}" --build-arg EXTRA_CA_CERTS="$extra_ca" -t "$tag" . >&2
# The previous build's images (the stage images and the image the tag named before) are left
# untagged by a new one: remove those of this recipe, nobody else's.
"${engine[@]}" image prune -f --filter "label=org.wasmbox.recipe" >/dev/null
size=$("${engine[@]}" image inspect --format '{{.Size}}' "$tag")
log "built $tag in $(($(date +%s) - start)) s: $((size / 1000000)) MB"
echo "$tag $size"
