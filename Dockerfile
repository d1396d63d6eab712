# wasmbox for a Hugging Face Docker Space (or any container host): port 7860, uid 1000.
# Every step below is a make target the test suite also runs outside Docker (`make build`).

# --- build: CPython for WASI, the playground bundle, the binary ---------------------------
FROM golang:1.26-bookworm AS build
# EXTRA_CA_CERTS: PEM certificates this stage trusts besides Debian's, for a build behind a
# TLS-inspecting proxy (scripts/image.sh passes the host's own); the runtime stage never sees them.
ARG EXTRA_CA_CERTS=""
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      make curl ca-certificates npm \
      clang-16 lld-16 llvm-16 wasi-libc libclang-rt-16-dev-wasm32 libc++-16-dev-wasm32 libc++abi-16-dev-wasm32 \
      ninja-build unzip gcc libc6-dev libffi-dev zlib1g-dev xz-utils tcl8.6 wabt binaryen \
 && rm -rf /var/lib/apt/lists/* \
 && if [ -n "$EXTRA_CA_CERTS" ]; then \
      printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/build-extra.crt && update-ca-certificates; \
    fi
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build

# --- run: the binary and the programs bash may use ------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates tzdata coreutils findutils grep sed gawk diffutils jq tar gzip zip unzip file \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --create-home --shell /usr/sbin/nologin user \
 && mkdir -p /data \
 && chown user:user /data
COPY --from=build /src/bin/wasmbox /usr/local/bin/wasmbox
USER 1000
# On a Space only the platform's proxies, on private addresses, reach the container: their
# X-Forwarded-For names each client, for rate limits and keyless owners.
ENV HOME=/home/user \
    WASMBOX_DATA_DIR=/data \
    WASMBOX_ADDR=:7860 \
    WASMBOX_TRUSTED_PROXIES=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s CMD ["wasmbox", "healthcheck"]
CMD ["wasmbox", "serve"]
