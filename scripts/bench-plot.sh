#!/usr/bin/env bash
# Measures figures in wasmbox against the same matplotlib run natively at the same time (the
# package index's wheels on the native CPython 3.13.5), and prints a markdown table for the
# README. wasmbox figures are timed end to end by a client of the JSON API (request sent to
# PNG received); native ones inside one process (the code, then savefig to PNG bytes).
# Usage: scripts/bench-plot.sh   (after make build; native packages from
#        wasm/cpython/native-analysis.sh, which make test runs)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${WASMBOX_BIN:-bin/wasmbox}
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
cache=${XDG_CACHE_HOME:-$HOME/.cache}/wasmbox
native_site=${WASMBOX_NATIVE_ANALYSIS:-$cache/native-analysis}
[ -d "$native_site/matplotlib" ] || wasm/cpython/native-analysis.sh "$native_site" >&2
native_py=$(ls -d "$cache"/python-3.13.5-native-*/build/python | head -1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
WASMBOX_DATA_DIR=$data/data RATE_LIMIT_PER_MINUTE=0 MAX_SESSIONS=1000 \
  "$bin" serve --addr 127.0.0.1:"$port" 2>"$data/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1800); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# Idle workers' memory: the pool's, before any run.
sleep 3
pss() { # the server's worker processes -> "PSS / private dirty" in MiB, the largest of each
  python3 - "$server" <<'PY'
import os, sys
pss = dirty = 0
for pid in os.listdir("/proc"):
    try:
        if not pid.isdigit() or open(f"/proc/{pid}/stat").read().split(") ")[1].split()[1] != sys.argv[1]:
            continue
        f = {l.split(":")[0]: int(l.split()[1]) for l in open(f"/proc/{pid}/smaps_rollup") if l.split()[-1] == "kB"}
    except OSError:
        continue
    pss, dirty = max(pss, f["Pss"]), max(dirty, f["Private_Dirty"])
print(f"{pss / 1024:.0f} / {dirty / 1024:.0f} MiB")
PY
}
idle_before=$(pss)

PYTHONPATH=$native_site:$native_site/pure MPLBACKEND=Agg python3 - "http://127.0.0.1:$port" "$native_py" "$data" <<'PY'
import json, os, statistics, subprocess, sys, time, urllib.request
url, native_py, data = sys.argv[1:]

def post(path, body=None):
    req = urllib.request.Request(url + path, data=json.dumps(body or {}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=600).read())

def box(sid, code):
    t = time.perf_counter()
    out = post(f"/api/sessions/{sid}/run", {"language": "python", "code": code})
    took = time.perf_counter() - t
    if out.get("error") or len(out.get("images") or []) != 1:
        sys.exit(f"run failed: {out.get('error')} {out.get('stderr', '')}")
    return took

simple = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()"
ten = """import numpy as np, matplotlib.pyplot as plt
x = np.linspace(0, 10, 200)
fig, ax = plt.subplots(figsize=(8, 5))
for i in range(10):
    ax.plot(x, np.sin(x + i / 3) * (1 + i / 10), label=f"phase {i}")
ax.set_title("Ten lines"); ax.set_xlabel("x"); ax.set_ylabel("y")
ax.legend(ncol=2); ax.grid(True)
plt.show()"""

# Native: the same code in one process that has imported pyplot, show() replaced by savefig
# into memory; and a new process doing everything (interpreter start, imports, the figure).
native_code = """import io, sys, time, statistics
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
def show():
    for n in plt.get_fignums():
        f = plt.figure(n); b = io.BytesIO(); f.savefig(b, format="png"); plt.close(f)
plt.show = show
def timed(code):
    t = time.perf_counter(); exec(code, {}); return time.perf_counter() - t
first = timed(sys.argv[1])
print(first, statistics.median(timed(sys.argv[2]) for _ in range(7)))
"""
first_native, ten_native = map(float, subprocess.run(
    [native_py, "-c", native_code, simple, ten], capture_output=True, text=True, check=True).stdout.split())
cold = []
for _ in range(3):
    t = time.perf_counter()
    subprocess.run([native_py, "-c", native_code, simple, simple], capture_output=True, check=True)
    cold.append(time.perf_counter() - t)

firsts = []
for _ in range(10):
    sid = post("/api/sessions")["session_id"]
    firsts.append(box(sid, simple))
    time.sleep(0.5)  # a client pauses between sessions; the pool refills
sid = post("/api/sessions")["session_id"]
box(sid, ten)
tens = [box(sid, ten) for _ in range(7)]

ms = lambda s: f"{s * 1000:.0f} ms"
print("| measure | wasmbox | native matplotlib | ratio |")
print("|---|---|---|---|")
print(f"| first figure in a new session (`plt.plot` of 3 points, `plt.show()`), p50 / max of 10 sessions, end to end | "
      f"{ms(statistics.median(firsts))} / {ms(max(firsts))} | {ms(first_native)} (first figure in a process with pyplot imported); "
      f"{ms(statistics.median(cold))} (a new process: start, imports, figure) | {statistics.median(firsts) / first_native:.1f}x / "
      f"{statistics.median(firsts) / statistics.median(cold):.2f}x |")
print(f"| warm 10-line figure, 800x500, legend and grid, rendered and returned, median of 7 | "
      f"{ms(statistics.median(tens))} | {ms(ten_native)} | {statistics.median(tens) / ten_native:.1f}x |")
PY
idle_after=$(pss)
wasm_size=$(stat -c %s wasm/cpython/python.wasm)
image_size=$(find "$data/data/images" -type f -size +1M -printf '%s\n' | sort -n | tail -1)
echo "| python.wasm | $((wasm_size / 1000000)) MB | | |"
echo "| base image (the interpreter's memory after start-up, imports and one drawn figure) | $((image_size / 1048576)) MiB | | |"
echo "| idle worker, PSS / private dirty (largest of the server's workers) | before any run: $idle_before; after the figures: $idle_after | | |"
