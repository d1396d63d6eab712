#!/usr/bin/env bash
# Measures a wasmbox server on this machine against native baselines run at the same time, and
# prints a markdown table for the README. Usage: scripts/bench.sh [seconds per load scenario]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
bin=bin/wasmbox
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
WASMBOX_DATA_DIR=$data/data RATE_LIMIT_PER_MINUTE=0 EXECUTION_TIMEOUT=120 MAX_SESSIONS=1000 \
  "$bin" serve --addr 127.0.0.1:"$port" 2>"$data/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$port

api_run() { # session language code -> the run's JSON
  python3 - "$url" "$1" "$2" "$3" <<'PY'
import json, sys, urllib.request
url, sid, lang, code = sys.argv[1:]
req = urllib.request.Request(f"{url}/api/sessions/{sid}/run", data=json.dumps({"language": lang, "code": code}).encode(), method="POST")
print(urllib.request.urlopen(req, timeout=300).read().decode())
PY
}
new_session() { curl -sf -XPOST "$url/api/sessions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])'; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }

loop='import time
t = time.perf_counter()
for i in range(3000000): pass
print(round(time.perf_counter() - t, 3))'
# The baseline is CPython of the guest's version (3.13.5), built natively by wasm/cpython/build.sh;
# Debian's python3.11 where that build is not in the cache.
cache=${XDG_CACHE_HOME:-$HOME/.cache}/wasmbox
native_py=$(ls -d "$cache"/python-3.13.5-native-*/build/python 2>/dev/null | head -1)
native_py=${native_py:-python3.11}
native_name=$("$native_py" -c 'import sys; print("CPython %d.%d.%d" % sys.version_info[:3])')
sid=$(new_session)
api_run "$sid" python "print(1)" >/dev/null
best_box=9e9; best_native=9e9
for _ in 1 2 3; do
  b=$(api_run "$sid" python "$loop" | field '["stdout"]')
  n=$("$native_py" -S -c "$loop")
  best_box=$(python3 -c "print(min($best_box, $b))"); best_native=$(python3 -c "print(min($best_native, $n))")
done

# The clients' latencies ("latency p50 ..."); "server ..." is the server's own time per call.
p50() { sed -n 's/^latency p50 \([^ ]*\).*/\1/p'; }
server_p50() { sed -n 's/^server .*p50 \([^ ]*\).*/\1/p'; }
p95() { # from a load run's sorted latencies we print p90 and p99; p95 is between: report p99
  sed -n 's/^latency .*p99 \([^ ]*\).*/\1/p'; }
load() { "$bin" load --url "$url/mcp" --clients 1 --duration "${secs}s" "$@"; }
py_out=$(load --code 'print(1)'); py_warm=$(echo "$py_out" | p50); py_server=$(echo "$py_out" | server_p50)
js_warm=$(load --tool execute_javascript_code --code '1' | p50)
sh_warm=$(load --tool execute_bash_command --code 'echo hi | wc -c' | p50)
nosess_out=$("$bin" load --url "$url/mcp" --clients 1 --no-session --calls 30 --code 'print(1)')
nosess_p50=$(echo "$nosess_out" | p50); nosess_p90=$(echo "$nosess_out" | sed -n 's/^latency .*p90 \([^ ]*\).*/\1/p')
nosess_p99=$(echo "$nosess_out" | p95)
fresh_out=$(load --new-session --code 'print(1)')
fresh_p50=$(echo "$fresh_out" | p50); fresh_p99=$(echo "$fresh_out" | p95)
native_start=$(python3 - "$native_py" <<'PY'
import subprocess, sys, time
ts = []
for _ in range(20):
    t = time.perf_counter(); subprocess.run([sys.argv[1], "-S", "-c", "print(1)"], capture_output=True); ts.append(time.perf_counter() - t)
ts.sort(); print("%.1fms" % (ts[len(ts)//2] * 1000))
PY
)
bash_native=$(python3 - <<'PY'
import subprocess, time
ts = []
for _ in range(20):
    t = time.perf_counter(); subprocess.run(["bash", "-c", "echo hi | wc -c"], capture_output=True); ts.append(time.perf_counter() - t)
ts.sort(); print("%.1fms" % (ts[len(ts)//2] * 1000))
PY
)

# Python state: a new interpreter from the base image, and freeze/thaw of 100 MB (Go benchmarks).
images=$(go test ./runtime/python -run XXX -bench 'newInterpreter|thaw100MB' -benchtime=20x 2>/dev/null)
new_interp=$(echo "$images" | awk '/newInterpreter/ {printf "%.1fms", $3/1e6}')
thaw=$(echo "$images" | awk '/thaw100MB/ {printf "%.0fms (freeze %sms, %s MB)", $3/1e6, $5, $7}')

# Idle memory: ten sessions that each ran Python once, then sit idle.
for _ in $(seq 10); do s=$(new_session); api_run "$s" python "x = 1" >/dev/null; done
sleep 2
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
total=0; n=0; total_pss=0
for p in $(pgrep -P "$server" -f "__worker" || true); do total=$((total + $(rss "$p"))); total_pss=$((total_pss + $(pss "$p"))); n=$((n + 1)); done
server_rss=$(( $(rss $server) / 1024 ))

cat <<TABLE
| measure (2 cores, same run) | wasmbox | native baseline | ratio |
|---|---|---|---|
| Python 3M-iteration loop | ${best_box} s | ${best_native} s (native $native_name) | $(python3 -c "print(round($best_box/$best_native, 1))")x |
| warm Python run over MCP, p50 (the server's own time) | $py_warm ($py_server) | $native_start (a new $native_name process) | |
| warm JavaScript run over MCP, p50 | $js_warm | | |
| bash \`echo hi \| wc -c\` over MCP, p50 | $sh_warm | $bash_native (new bash process) | |
| new session + first Python run over MCP, p50 / p99 | $fresh_p50 / $fresh_p99 | $native_start | |
| 30 back-to-back calls without session_id (each makes a session), p50 / p90 / p99 | $nosess_p50 / $nosess_p90 / $nosess_p99 | $native_start | |
| new Python interpreter from the base image, no pool | $new_interp | $native_start | |
| thaw of a session holding 100 MB of random bytes | $thaw | | |
| idle worker RSS / PSS (mean of $n workers, Python used once; PSS splits pages shared between workers) | $(( total / (n > 0 ? n : 1) / 1024 )) / $(( total_pss / (n > 0 ? n : 1) / 1024 )) MiB | | |
| server RSS | ${server_rss} MiB | | |
TABLE
