# wasmbox: `make run` builds everything and serves; `make test` runs the whole suite.
GO        ?= go
BIN       := bin/wasmbox
CPYTHON   := wasm/cpython/python.wasm wasm/cpython/python313.zip
# CPython's own regression tests (Lib/test of the same source), run inside the sandbox.
export WASMBOX_CPYTHON_TESTS = $(shell wasm/cpython/build.sh --cache-dir 2>/dev/null)/Lib-test
# Inputs of the packages' own test suites run inside the sandbox (TestPackageTestSuites): pytest
# and hypothesis from their wheels, and numpy's, pandas', kiwisolver's, contourpy's and matplotlib's
# tests (with what they import beside them), from the builds python.wasm links.
PKGTESTS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/wasmbox/pkgtests
export WASMBOX_PACKAGE_TESTS = $(PKGTESTS)
# The native side of the differential test of analysis snippets: the same numpy, pandas and
# packages for the native CPython build (wasm/cpython/native-analysis.sh).
export WASMBOX_NATIVE_ANALYSIS = $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/wasmbox/native-analysis

.PHONY: all build python web run test vet e2e bench load clean pkgtests pkgtests-inputs image e2e-image node-deps

all: build

# Build CPython for WASI (cached under ~/.cache/wasmbox; a no-op when nothing changed).
python:
	wasm/cpython/build.sh

$(CPYTHON):
	wasm/cpython/build.sh

# The playground's editor: CodeMirror from the npm registry, bundled with esbuild's Go API.
web:
	cd assets/web && npm ci --no-audit --no-fund --loglevel=error
	$(GO) run ./assets/web/bundle assets/web

build: python web
	# CGO_ENABLED=0: workers confine all their threads with AllThreadsSyscall, which cgo forbids.
	# -trimpath -buildvcs=false: the same binary from a checkout and from the image's build context
	# (which has no .git).
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -o $(BIN) ./cmd/wasmbox

run: build
	$(BIN) serve --addr $${WASMBOX_ADDR:-:7860}

vet: python web
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	# -stdmethods=false: wazero's sys.File interface has Seek returning an Errno, not error.
	$(GO) vet -stdmethods=false ./...

# The Go tests run the quick part of numpy's and pandas' own test suites (TestPackageTestSuites).
test: build vet pkgtests-inputs node-deps
	wasm/cpython/native-analysis.sh $(WASMBOX_NATIVE_ANALYSIS)
	# The cluster tests start SeaweedFS (built once from its pinned source by scripts/seaweedfs.sh)
	# and Debian's redis-server.
	WASMBOX_SEAWEEDFS="$$(scripts/seaweedfs.sh)" $(GO) test -race -count=1 -timeout 30m ./...
	# The Kubernetes manifests against Kubernetes' own API types (a module of its own).
	cd deploy/kubernetes && $(GO) test -count=1 ./...
	# The quick part of the packages' own test suites, and the plot corpus against native
	# matplotlib: Python inside the guest, where -race only adds time (both skip themselves under
	# it); they run side by side.
	$(GO) test -count=1 -run 'TestPackageTestSuites|TestMatplotlib_corpus' -timeout 30m ./runtime/python/
	# The end-to-end suite against containers of the Space image (its wasmbox is bin/wasmbox,
	# checked), not against bin/wasmbox directly: `make e2e` does that alone.
	$(MAKE) e2e-image

pkgtests-inputs: python
	wasm/cpython/testdeps.sh $(PKGTESTS)/deps
	core="$$(wasm/cpython/core.sh --dir)" && numpy="$$(wasm/cpython/numpy.sh --dir "$$core")" && \
		pandas="$$(wasm/cpython/pandas.sh --dir "$$core" "$$numpy")" && \
		kiwisolver="$$(wasm/cpython/kiwisolver.sh --dir "$$core")" && contourpy="$$(wasm/cpython/contourpy.sh --dir "$$core")" && \
		rm -rf $(PKGTESTS)/numpy $(PKGTESTS)/pandas $(PKGTESTS)/kiwisolver $(PKGTESTS)/kiwisolver.dist-info $(PKGTESTS)/contourpy && \
		cp -r "$$numpy/site/numpy" $(PKGTESTS)/numpy && cp -r "$$pandas/site/pandas" $(PKGTESTS)/pandas && \
		cp -r "$$kiwisolver/site/kiwisolver" $(PKGTESTS)/kiwisolver && cp -r "$$kiwisolver/tests" $(PKGTESTS)/kiwisolver/tests && \
		cp -r "$$kiwisolver/site/kiwisolver-"*.dist-info $(PKGTESTS)/kiwisolver.dist-info && \
		cp -r "$$contourpy/site/contourpy" $(PKGTESTS)/contourpy && cp -r "$$contourpy/tests" $(PKGTESTS)/contourpy/tests && \
		matplotlib="$$(wasm/cpython/matplotlib.sh --dir "$$core")" && rm -rf $(PKGTESTS)/matplotlib && \
		mkdir -p $(PKGTESTS)/matplotlib && cp "$$matplotlib/site/matplotlib/_version.py" $(PKGTESTS)/matplotlib/ && \
		cp -r "$$matplotlib/tests/matplotlib/tests" $(PKGTESTS)/matplotlib/tests

# All the modules of numpy's and pandas' own test suites inside the sandbox (about half an hour).
pkgtests: pkgtests-inputs
	WASMBOX_PACKAGE_TESTS_ALL=1 $(GO) test -count=1 -run TestPackageTestSuites -v -timeout 150m ./runtime/python/

# The Space image (Dockerfile), with Docker or podman; base images made locally when no registry
# answers (scripts/image.sh).
IMAGE ?= localhost/wasmbox:latest
image:
	scripts/image.sh $(IMAGE)

# The end-to-end suite below against containers of the image, run as a Space runs it (uid 1000,
# /data a volume, a seccomp profile without user namespaces), the MCP part again under the
# engine's own profile (with them), and the image's own checks (mcp/e2e/image.test.mjs; bin/wasmbox
# is what the image's binary must equal).
e2e-image: build image node-deps
	eval "$$(scripts/image.sh --env)" && cd mcp/e2e && \
		WASMBOX_IMAGE=$(IMAGE) WASMBOX_CONTAINER_SECCOMP=space npm run test:image && \
		WASMBOX_IMAGE=$(IMAGE) WASMBOX_CONTAINER_SECCOMP=engine node --test e2e.test.mjs

# End-to-end against bin/wasmbox: the official MCP TypeScript SDK, the MCP conformance suite, the
# playground in Chromium, and LibreChat's own client package.
e2e: build node-deps
	cd mcp/e2e && npm test

# The end-to-end suites' npm packages, pinned by their lock files (the Go tests use LibreChat's
# client too: TestCluster_libreChat).
node-deps: mcp/e2e/node_modules/.installed
mcp/e2e/node_modules/.installed: mcp/e2e/package-lock.json mcp/e2e/librechat/package-lock.json
	cd mcp/e2e && npm ci --no-audit --no-fund --loglevel=error && \
		(cd librechat && npm ci --no-audit --no-fund --loglevel=error)
	touch $@

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 20x ./runtime/python/
	scripts/bench.sh

clean:
	rm -rf bin $(CPYTHON) assets/web/dist
