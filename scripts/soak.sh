#!/usr/bin/env bash
# Soak run: drives a wasmbox server with `wasmbox load` and, at the same time, hostile clients
# (runaway Python, memory bombs, fork bombs, setsid daemons, big uploads, slow and idle
# connections with large headers, SSE streams left open, abandoned sessions) for a while, and
# samples the server process: RSS, threads, open fds, goroutines, workers, processes below it,
# processes a run left behind, and the data directory's size. Prints a table, a summary (first,
# max, last of each) and the load's throughput and latency.
#
# Usage: scripts/soak.sh [duration]      (or SOAK_DURATION; default 30m; 90s, 8m, 1h)
#   SOAK_INTERVAL   seconds between samples (default 30)
#   SOAK_CLIENTS    MCP clients of the load (default 4)
#   SOAK_KEEP=1     keep the temporary directory (server log, samples) for reading afterwards
# Expects `make build` done; builds nothing. Every connection goes to 127.0.0.1 (hostile clients
# connect from other loopback source addresses so that their connection caps are their own),
# every hostile request is bounded in time, and everything started is stopped on exit,
# Ctrl-C or TERM.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin/wasmbox
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
for tool in curl python3 setsid; do
  command -v "$tool" >/dev/null || { echo "soak: needs $tool" >&2; exit 1; }
done

duration=${1:-${SOAK_DURATION:-30m}}
case $duration in
  *h) secs=$(( ${duration%h} * 3600 )) ;;
  *m) secs=$(( ${duration%m} * 60 )) ;;
  *s) secs=${duration%s} ;;
  *) secs=$duration ;;
esac
[[ $secs =~ ^[0-9]+$ ]] && (( secs >= 10 )) || { echo "soak: duration $duration: want e.g. 90s, 8m, 1h (at least 10s)" >&2; exit 2; }
interval=${SOAK_INTERVAL:-30}
clients=${SOAK_CLIENTS:-4}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wasmbox-soak.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# A sleep argument no one else uses: what the hostile runs start to outlive them carries it, so
# leftovers are counted (and stopped at the end) by this mark alone.
mark="7$(( $$ % 1000 + 100 )).25"
pids=()

cleanup() {
  trap - EXIT INT TERM
  local p
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # Whatever a run left behind (a daemon that escaped its worker) carries the mark.
  for p in $(pgrep -f "sleep $mark" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  if [ "${SOAK_KEEP:-}" = 1 ]; then echo "soak: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'echo "soak: interrupted" >&2; exit 130' INT TERM

# Two API keys: the load and the hostile clients are different owners, as two tenants would be.
# Short timeout, idle and TTL so that freezing, thawing and expiry happen within the run.
WASMBOX_DATA_DIR=$tmp/data WASMBOX_API_KEYS=load-key,hostile-key RATE_LIMIT_PER_MINUTE=0 \
  EXECUTION_TIMEOUT=${EXECUTION_TIMEOUT:-3} WASMBOX_WORKER_IDLE=${WASMBOX_WORKER_IDLE:-1m} \
  SESSION_TTL=${SESSION_TTL:-3m} \
  setsid "$bin" serve --addr "127.0.0.1:$port" 2>"$tmp/server.log" &
server=$!
pids+=("$server")
for _ in $(seq 300); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$url/healthz" >/dev/null || { echo "soak: the server did not start:" >&2; tail -20 "$tmp/server.log" >&2; exit 1; }

truncate -s 40M "$tmp/big"   # sparse: tens of MB sent, nothing written to this disk
truncate -s 60M "$tmp/huge"  # over the 50 MiB upload bound

setsid "$bin" load --url "$url/mcp" --key load-key --clients "$clients" --duration "${secs}s" \
  >"$tmp/load.out" 2>&1 &
pids+=("$!")

setsid python3 - "$url" "$secs" "$tmp" "$mark" >"$tmp/hostile.log" 2>&1 <<'PY' &
# Hostile clients, each a thread looping until the deadline; every request has a timeout.
import http.client, json, os, random, socket, subprocess, sys, threading, time
url, secs, tmp, mark = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
deadline = time.time() + secs
auth = {"Authorization": "Bearer hostile-key"}
counts, lock = {}, threading.Lock()

def count(what):
    with lock:
        counts[what] = counts.get(what, 0) + 1

def request(method, path, body=None, src="127.0.0.2", timeout=30):
    c = http.client.HTTPConnection(host, port, timeout=timeout, source_address=(src, 0))
    try:
        c.request(method, path, body=body, headers=dict(auth, **({"Content-Type": "application/json"} if body else {})))
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()

def session(src="127.0.0.2"):
    st, b = request("POST", "/api/sessions", src=src)
    if st // 100 == 2:
        return json.loads(b)["session_id"]
    count(f"session refused {st}")
    return None

def run(sid, lang, code, src="127.0.0.2"):
    st, b = request("POST", f"/api/sessions/{sid}/run", json.dumps({"language": lang, "code": code}).encode(), src=src)
    try:
        kind = (json.loads(b).get("error") or {}).get("kind") or "ok"
    except Exception:
        kind = "?"
    count(f"run {st} {kind}")

def upload(sid, path, name, src="127.0.0.2"):
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "120",
                        "--interface", src, "-H", "Authorization: Bearer hostile-key",
                        "-F", f"path={name}", "-F", f"file=@{path}", f"{url}/api/sessions/{sid}/files"],
                       capture_output=True, text=True)
    count(f"upload {r.stdout or r.returncode}")

runs = [
    ("python", "while True: pass"),
    ("python", "a = []\nwhile True: a.append(bytearray(10**7))"),
    ("python", "x = ' ' * (2**40)"),
    ("python", "def f(): f()\nf()"),
    ("bash", f"seq 100000 | sed 's/.*/{mark}/' | xargs -P 0 -n 1 sleep"),
    ("bash", f"seq 100000 | sed 's/.*/{mark}/' > list; echo x | xargs -I{{}} xargs -a list -P 0 -n 1 sleep"),
    ("bash", "for i in $(seq 8); do cat /dev/zero | tail -c 60000000 & done; seq 20 | xargs -P 20 -I{} sort /dev/zero; wait"),
    ("javascript", "while (true) {}"),
    ("javascript", "let a = []; while (true) a.push(new Array(1e6).fill(1))"),
]

def runner(i):
    # A tenant that reuses a session for a while, then drops it without deleting it.
    while time.time() < deadline:
        try:
            sid = session()
            if not sid:
                time.sleep(1); continue
            for _ in range(5):
                if time.time() >= deadline:
                    break
                lang, code = random.choice(runs)
                run(sid, lang, code)
        except Exception as e:
            count(f"runner error {type(e).__name__}"); time.sleep(1)

def daemons():
    # setsid daemons through the loader, from an uploaded copy of setsid (as in the hostile suite).
    while time.time() < deadline:
        try:
            sid = session()
            if sid:
                upload(sid, "/usr/bin/setsid", "setsid")
                run(sid, "bash", f"printf '%s\\0' /lib64/ld-linux-x86-64.so.2 ./setsid -f /usr/bin/sleep {mark} | xargs -0 xargs; "
                    f"setsid -f sleep {mark}; (sleep {mark} &) ; echo started")
                request("DELETE", f"/api/sessions/{sid}")
        except Exception as e:
            count(f"daemon error {type(e).__name__}")
        time.sleep(5)

def uploads():
    while time.time() < deadline:
        try:
            sid = session("127.0.0.3")
            if sid:
                ts = [threading.Thread(target=upload, args=(sid, os.path.join(tmp, f), f"{f}{k}", "127.0.0.3"))
                      for k, f in enumerate(["big", "big", "huge", "big", "big", "big"])]
                for t in ts: t.start()
                for t in ts: t.join()
                if random.random() < 0.5:
                    request("DELETE", f"/api/sessions/{sid}", src="127.0.0.3")
        except Exception as e:
            count(f"upload error {type(e).__name__}")
        time.sleep(2)

def idle_connections():
    # 60 connections from one address: half stop mid-header after ~30 KiB, half send a full
    # request with a 30 KiB header and keep the connection open.
    while time.time() < deadline:
        socks = []
        for k in range(60):
            try:
                s = socket.create_connection((host, port), timeout=5, source_address=("127.0.0.4", 0))
                big = "X-Pad: " + "a" * 30000 + "\r\n"
                if k % 2:
                    s.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{big}".encode())
                else:
                    s.sendall(f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer hostile-key\r\n{big}\r\n".encode())
                socks.append(s)
                count("idle conn opened")
            except Exception as e:
                count(f"idle conn {type(e).__name__}")
        time.sleep(min(40, max(0, deadline - time.time())))
        for s in socks:
            s.close()

def sse_streams():
    # Streams opened and left open (the per-address cap is 16), then dropped without a word.
    while time.time() < deadline:
        socks = []
        for k in range(24):
            path = "/sse" if k % 2 else "/gradio_api/mcp/sse"
            try:
                s = socket.create_connection((host, port), timeout=5, source_address=("127.0.0.5", 0))
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer hostile-key\r\nAccept: text/event-stream\r\n\r\n".encode())
                status = s.recv(64).split(b" ")[1:2]
                count(f"sse {status[0].decode() if status else '?'}")
                socks.append(s)
            except Exception as e:
                count(f"sse {type(e).__name__}")
        time.sleep(min(60, max(0, deadline - time.time())))
        for s in socks:
            s.close()

def abandoned():
    # Sessions created, used once, and never deleted (the TTL and the per-owner cap clean up).
    while time.time() < deadline:
        try:
            sid = session("127.0.0.6")
            if sid:
                run(sid, "python", "x = list(range(10**6))\nprint(len(x))", src="127.0.0.6")
        except Exception as e:
            count(f"abandon error {type(e).__name__}")
        time.sleep(1)

threads = [threading.Thread(target=f, daemon=True) for f in
           (lambda: runner(0), lambda: runner(1), lambda: runner(2), daemons, uploads, idle_connections, sse_streams, abandoned)]
for t in threads: t.start()
for t in threads: t.join(timeout=max(0, deadline - time.time()) + 150)
for k in sorted(counts):
    print(f"{counts[k]:7d}  {k}")
sys.stdout.flush()
os._exit(0)
PY
pids+=("$!")

sample() { # elapsed -> one row
  local st rss thr fds gor work procs left disk
  st=$(cat "/proc/$server/status" 2>/dev/null) || { echo "soak: the server is gone" >&2; return 1; }
  rss=$(awk '/^VmRSS:/ {printf "%.1f", $2/1024}' <<<"$st")
  thr=$(awk '/^Threads:/ {print $2}' <<<"$st")
  # Each reading may race with what it reads (an fd closed, a session's file removed during du):
  # a failed reading is shown, never the end of the run (set -e and pipefail).
  fds=$(ls "/proc/$server/fd" 2>/dev/null | wc -l) || true
  gor=$(curl -s --max-time 10 -H 'Authorization: Bearer load-key' "$url/metrics" | awk '/^go_goroutines / {print $2}') || true
  # Workers are the server's children; procs counts every process below the server; leftover
  # counts the marked sleeps no longer below it (escaped their run, their worker, or both).
  read -r work procs left < <(ps -e -o pid=,ppid=,args= | awk -v root="$server" -v m="$mark" '
    { parent[$1] = $2; for (i = 3; i < NF; i++) if ($i ~ /(^|\/)sleep$/ && $(i + 1) == m) marked[$1] = 1
      if ($2 == root && $0 ~ /__worker/) w++ }
    END {
      for (p in parent) {
        q = parent[p]; while (q > 1 && q != root && (q in parent)) q = parent[q]
        if (q == root) n++; else if (marked[p]) l++
      }
      print w + 0, n + 0, l + 0
    }')
  disk=$(du -sm "$tmp/data" 2>/dev/null | cut -f1) || true
  printf '%6s %8s %7s %5s %10s %7s %7s %9s %7s\n' "$1" "$rss" "$thr" "$fds" "${gor:--}" "$work" "$procs" "$left" "$disk"
}

echo "soak: server pid $server on $url for ${secs}s (EXECUTION_TIMEOUT=${EXECUTION_TIMEOUT:-3}), sampling every ${interval}s"
header=$(printf '%6s %8s %7s %5s %10s %7s %7s %9s %7s' "t(s)" "rss(MiB)" threads fds goroutines workers procs leftover "disk(MB)")
echo "$header"
start=$(date +%s)
while :; do
  now=$(( $(date +%s) - start ))
  sample "$now" | tee -a "$tmp/samples"
  (( now >= secs )) && break
  sleep $(( interval < secs - now ? interval : secs - now )) & wait $!  # a TERM is handled at once
done
# The load and the hostile clients end by themselves; wait for them, then a last sample once
# their connections and runs are gone.
wait "${pids[1]}" || true
wait "${pids[2]}" || true
sleep "${SOAK_SETTLE:-75}" & wait $!
echo "after the clients stopped:"
sample "$(( $(date +%s) - start ))" | tee -a "$tmp/samples"

echo
echo "summary (first, max, last):"
awk -v h="$header" 'BEGIN { n = split(h, name, " ") }
  { for (i = 2; i <= NF; i++) { if (NR == 1) first[i] = $i; if (NR == 1 || $i + 0 > max[i] + 0) max[i] = $i; last[i] = $i } }
  END { for (i = 2; i <= n; i++) printf "  %-11s %8s %8s %8s\n", name[i], first[i], max[i], last[i] }' "$tmp/samples"
echo
echo "load (owner load-key, $clients clients, execute_python_code):"
sed 's/^/  /' "$tmp/load.out"
echo "hostile requests (owner hostile-key), by outcome:"
sed 's/^/  /' "$tmp/hostile.log"
errors=$(grep -c 'level=ERROR\|panic\|fatal error' "$tmp/server.log" || true)
echo "server log: $(wc -l <"$tmp/server.log") lines, $errors errors or panics"
kill -0 "$server" 2>/dev/null || { echo "soak: the server died" >&2; exit 1; }
