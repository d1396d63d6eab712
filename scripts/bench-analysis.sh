#!/usr/bin/env bash
# Measures numpy and pandas inside wasmbox against the same numpy and pandas run natively at the
# same time (the package index's wheels for the native CPython 3.13.5 build, with OpenBLAS), and
# prints a markdown table for the README. Each figure is the best of 5 runs, timed inside the
# interpreter (perf_counter), so it excludes the request's own overhead.
# Usage: scripts/bench-analysis.sh   (after make build; native packages from
#        wasm/cpython/native-analysis.sh, which make test runs)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/wasmbox
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
cache=${XDG_CACHE_HOME:-$HOME/.cache}/wasmbox
native_site=${WASMBOX_NATIVE_ANALYSIS:-$cache/native-analysis}
[ -d "$native_site/numpy" ] || wasm/cpython/native-analysis.sh "$native_site" >&2
native_py=$(ls -d "$cache"/python-3.13.5-native-*/build/python | head -1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
WASMBOX_DATA_DIR=$data/data RATE_LIMIT_PER_MINUTE=0 EXECUTION_TIMEOUT=300 \
  "$bin" serve --addr 127.0.0.1:"$port" 2>"$data/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1800); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$port

api_run() { # session code -> stdout of the run
  python3 - "$url" "$1" "$2" <<'PY'
import json, sys, urllib.request
url, sid, code = sys.argv[1:]
req = urllib.request.Request(f"{url}/api/sessions/{sid}/run", data=json.dumps({"language": "python", "code": code}).encode(), method="POST")
out = json.loads(urllib.request.urlopen(req, timeout=600).read())
if out.get("error"):
    sys.exit(f"run failed: {out['error']} {out.get('stderr', '')}")
print(out["stdout"], end="")
PY
}
new_session() { curl -sf -XPOST "$url/api/sessions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])'; }

import_code='import time
t = time.perf_counter()
import numpy, pandas
print("import numpy, pandas", time.perf_counter() - t)'

bench_code='import time, numpy as np, pandas as pd
def best(f, n=5):
    r = []
    for _ in range(n):
        t = time.perf_counter(); f(); r.append(time.perf_counter() - t)
    return min(r)
rng = np.random.default_rng(0)
a, b = rng.random((200, 200)), rng.random((200, 200))
v = rng.random(200)
x = rng.random(1_000_000)
df = pd.DataFrame({"k": rng.integers(0, 100, 100_000), "v": rng.random(100_000)})
if not __import__("os").path.exists("bench.csv"):
    pd.DataFrame(rng.random((130_000, 4)), columns=list("abcd")).to_csv("bench.csv", index=False)
print("200x200 float64 matmul", best(lambda: a @ b))
print("np.linalg.solve 200x200", best(lambda: np.linalg.solve(a, v)))
print("ufuncs on 1e6 floats: np.sqrt(x * x + 1.0)", best(lambda: np.sqrt(x * x + 1.0)))
print("df.groupby(k).v.agg([sum, mean]) on 1e5 rows", best(lambda: df.groupby("k")["v"].agg(["sum", "mean"])))
print("read_csv of a", round(__import__("os").path.getsize("bench.csv") / 1e6, 1), "MB file", best(lambda: pd.read_csv("bench.csv"), 3))'

sid=$(new_session)
box=$( { api_run "$sid" "$import_code"; api_run "$sid" "$bench_code"; } )
# One BLAS thread: the sandbox runs single-threaded. The import is timed after a first one
# (which compiles the .pyc files of the unpacked wheels).
export OPENBLAS_NUM_THREADS=1
PYTHONPATH=$native_site:$native_site/pure "$native_py" -c "import numpy, pandas"
native=$(cd "$data" && { PYTHONPATH=$native_site:$native_site/pure "$native_py" -c "$import_code"
  PYTHONPATH=$native_site:$native_site/pure "$native_py" -c "$bench_code"; })
python3 - "$box" "$native" <<'PY'
import sys
def parse(s):
    out = {}
    for line in s.strip().splitlines():
        name, _, v = line.rpartition(" ")
        out[name] = float(v)
    return out
box, nat = parse(sys.argv[1]), parse(sys.argv[2])
print("| operation | wasmbox | native (same versions, OpenBLAS) | ratio |")
print("|---|---|---|---|")
for k, v in box.items():
    n = nat.get(k)
    fmt = lambda t: f"{t * 1000:.1f} ms"
    print(f"| {k} | {fmt(v)} | {fmt(n) if n is not None else '-'} | {v / n:.1f}x |" if n else f"| {k} | {fmt(v)} | - | - |")
PY
