#!/usr/bin/env bash
# How many live analysis sessions a machine holds: starts a wasmbox server, makes N sessions
# (default 100) that each import numpy and pandas and hold a 1000-row DataFrame, and reports the
# memory of the server and its workers (PSS: pages shared between processes are split among
# them; only this server's workers are counted).
# Usage: scripts/bench-density.sh [sessions]   (expects make build; builds nothing)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
bin=bin/wasmbox
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
# The memory budget is the server's default (half the machine's memory) unless
# WASMBOX_MEMORY_BUDGET is set: workers are charged what they hold, so the sessions it holds
# stay live; those beyond it are frozen, and the report says how many were live.
WASMBOX_DATA_DIR=$data/data RATE_LIMIT_PER_MINUTE=0 EXECUTION_TIMEOUT=120 MAX_SESSIONS=$((n + 10)) \
  WASMBOX_MAX_SESSIONS_PER_OWNER=$((n + 10)) \
  "$bin" serve --addr 127.0.0.1:"$port" 2>"$data/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$port

code='import numpy as np, pandas as pd
df = pd.DataFrame({"a": np.arange(1000), "b": np.random.default_rng(1).normal(size=1000), "c": ["x%d" % i for i in range(1000)]})
print(len(df), round(float(df.b.sum()), 3))'
start=$(date +%s.%N)
python3 - "$url" "$n" "$code" >"$data/ids" <<'PY'
import json, sys, urllib.request
url, n, code = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def post(path, body=None):
    req = urllib.request.Request(url + path, data=json.dumps(body or {}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=300))
for i in range(n):
    sid = post("/api/sessions")["session_id"]
    r = post(f"/api/sessions/{sid}/run", {"language": "python", "code": code})
    assert r["stdout"].startswith("1000 "), r
    print(sid)
PY
made=$(python3 -c "import time; print(round(time.time() - $start, 1))")
sleep 3
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
workers=0; total=0; wrss=0
for p in $(pgrep -P "$server" -f "__worker" || true); do
  total=$((total + $(pss "$p"))); wrss=$((wrss + $(rss "$p"))); workers=$((workers + 1))
done
server_pss=$(pss $server)
all=$((total + server_pss))

# A warm call in the first session while all of them are live. (A frozen session's size and thaw
# are measured by BenchmarkInterpreter_thawDataFrame and scripts/bench.sh.)
first=$(head -1 "$data/ids")
warm=$(python3 - "$url" "$first" <<'PY'
import json, sys, time, urllib.request
url, sid = sys.argv[1:]
def post(path, body=None):
    req = urllib.request.Request(url + path, data=json.dumps(body or {}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=300))
def timed(code):
    t = time.perf_counter(); r = post(f"/api/sessions/{sid}/run", {"language": "python", "code": code})
    return (time.perf_counter() - t) * 1000, r
print("%.1f" % min(timed("len(df)")[0] for _ in range(5)))
PY
)
cat <<TABLE
| measure ($n sessions, each: numpy and pandas imported, a 1000-row DataFrame) | value |
|---|---|
| sessions made (each a worker start and the run), wall time | $made s |
| live workers (the sessions' and the pool's) | $workers |
| PSS of the server and workers, total / per session (the total over $n) | $((all / 1024)) MiB / $((all / 1024 / n)) MiB |
| RSS of the workers, total (shared pages counted in each) | $((wrss / 1024)) MiB |
| server PSS | $((server_pss / 1024)) MiB |
| a warm call in one of them (JSON API, best of 5) | ${warm} ms |
TABLE
