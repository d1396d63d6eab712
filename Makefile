# wasmbox: `make run` builds everything and serves; `make test` runs the whole suite.
GO        ?= go
BIN       := bin/wasmbox
CPYTHON   := wasm/cpython/python.wasm wasm/cpython/python311.zip
# CPython's own regression tests (Lib/test of the same source), run inside the sandbox.
export WASMBOX_CPYTHON_TESTS = $(shell wasm/cpython/build.sh --cache-dir 2>/dev/null)/Lib-test

.PHONY: all build python run test vet bench clean

all: build

# Build CPython for WASI (cached under ~/.cache/wasmbox; a no-op when nothing changed).
python:
	wasm/cpython/build.sh

$(CPYTHON):
	wasm/cpython/build.sh

build: python
	$(GO) build -trimpath -o $(BIN) ./cmd/wasmbox

run: build
	@echo "wasmbox is built: $(BIN)"
	@echo "try:  echo 'print(sum(range(10)))' | $(BIN) run --lang python -"
	@echo "      $(BIN) version"

vet: python
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	# -stdmethods=false: wazero's sys.File interface has Seek returning an Errno, not error.
	$(GO) vet -stdmethods=false ./...

test: build vet
	$(GO) test -race -count=1 -timeout 20m ./...

bench: python
	$(GO) test -run '^$$' -bench . -benchtime 20x ./runtime/python/

clean:
	rm -rf bin $(CPYTHON)
