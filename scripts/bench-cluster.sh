#!/usr/bin/env bash
# Cluster mode on this machine: Debian's redis-server, SeaweedFS (scripts/seaweedfs.sh) as the
# S3 store, `wasmbox serve` replicas and Debian's nginx (round robin) in front. Measures with
# `wasmbox load` (print(1), one session per client): local mode against cluster mode with one
# replica, then 1 and 3 replicas through nginx, then a replica that commits after answering. Usage: scripts/bench-cluster.sh [seconds]
# (BENCH_LOGS=dir keeps the servers' logs there).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
bin=$PWD/bin/wasmbox
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
weed=$(scripts/seaweedfs.sh)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${BENCH_LOGS:-}" ]; then mkdir -p "$BENCH_LOGS" && cp "$work"/*.log "$BENCH_LOGS"/; fi
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 900); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

redis_port=$(port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --loglevel warning >"$work/redis.log" 2>&1 &
pids+=($!)

key=bench secret=bench-secret
echo "{\"identities\":[{\"name\":\"bench\",\"credentials\":[{\"accessKey\":\"$key\",\"secretKey\":\"$secret\"}],\"actions\":[\"Admin\",\"Read\",\"Write\",\"List\",\"Tagging\"]}]}" >"$work/s3.json"
mkdir -p "$work/weed"
ports=()
for _ in 1 2 3 4; do
  while :; do p=$(port); [ "$p" -lt 55000 ] && break; done
  ports+=("$p")
done
"$weed" server -dir="$work/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -master.port="${ports[0]}" -master.port.grpc=$((ports[0] + 10000)) \
  -volume.port="${ports[1]}" -volume.port.grpc=$((ports[1] + 10000)) \
  -filer.port="${ports[2]}" -filer.port.grpc=$((ports[2] + 10000)) \
  -s3 -s3.port="${ports[3]}" -s3.port.grpc=$((ports[3] + 10000)) -s3.config="$work/s3.json" \
  -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false -master.volumeSizeLimitMB=64 -volume.max=0 \
  >"$work/weed.log" 2>&1 &
pids+=($!)
s3=http://127.0.0.1:${ports[3]}
for _ in $(seq 900); do
  curl -sf -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" "$s3/wasmbox" >/dev/null 2>&1 && break
  sleep 0.2
done

serve() { # name data-dir port [env...]
  local name=$1 data=$2 p=$3
  shift 3
  env "$@" RATE_LIMIT_PER_MINUTE=0 EXECUTION_TIMEOUT=60 MAX_SESSIONS=1000 WASMBOX_REPLICA_URL="http://127.0.0.1:$p" \
    "$bin" serve --addr 127.0.0.1:"$p" --data-dir "$data" 2>"$work/$name.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:$p/healthz"
}
cluster_env=(AWS_ENDPOINT_URL_S3="$s3" AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" AWS_REGION=us-east-1
  WASMBOX_STORE=s3://wasmbox/bench WASMBOX_REDIS_URL="redis://127.0.0.1:$redis_port/0")

load() { # url clients duration
  "$bin" load --url "$1/mcp" --clients "$2" --duration "$3" --code 'print(1)'
}
think() { # url duration: one client, its calls 50 ms apart (an agent's turn between tool calls)
  "$bin" load --url "$1/mcp" --clients 1 --duration "$2" --think 50ms --code 'print(1)'
}
row() { # label output
  local calls p50 p99 server
  calls=$(echo "$2" | sed -n 's/^calls .* \([0-9.]*\) calls\/s.*/\1/p' | head -1)
  [ -n "$calls" ] || calls=$(echo "$2" | grep -o '[0-9.]* calls/s' | head -1 | cut -d' ' -f1)
  p50=$(echo "$2" | sed -n 's/^latency p50 \([^ ]*\).*/\1/p')
  p99=$(echo "$2" | sed -n 's/^latency .*p99 \([^ ]*\).*/\1/p')
  server=$(echo "$2" | sed -n 's/^server .*p50 \([^ ]*\).*/\1/p')
  echo "| $1 | $calls | $p50 | $p99 | ${server:--} |"
}

echo "| setup | calls/s | p50 | p99 | server p50 |"
echo "|---|---|---|---|---|"
p=$(port); serve local "$work/local" "$p"
row "local mode, 1 client" "$(load "http://127.0.0.1:$p" 1 "${secs}s")"
row "local mode, 8 clients" "$(load "http://127.0.0.1:$p" 8 "${secs}s")"
row "local mode, 1 client, calls 50 ms apart" "$(think "http://127.0.0.1:$p" "${secs}s")"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'

upstreams=""
for i in 1 2 3; do
  p=$(port); serve "replica-$i" "$work/r$i" "$p" "${cluster_env[@]}"
  upstreams+="    server 127.0.0.1:$p max_fails=0;"$'\n'
  [ "$i" = 1 ] && first=$p
done
row "cluster mode, 1 replica direct, 1 client" "$(load "http://127.0.0.1:$first" 1 "${secs}s")"
row "cluster mode, 1 replica direct, 8 clients" "$(load "http://127.0.0.1:$first" 8 "${secs}s")"

nginx_conf() { # port upstreams
  cat <<EOF
user root;
worker_processes 1;
error_log $work/nginx-error.log;
pid $work/nginx-$1.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/body; proxy_temp_path $work/proxy; fastcgi_temp_path $work/fcgi;
  uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
  upstream wasmbox {
$2    keepalive 64;
  }
  server {
    listen 127.0.0.1:$1;
    location / {
      proxy_pass http://wasmbox; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$http_host; proxy_buffering off; proxy_read_timeout 120s;
    }
  }
}
EOF
}
for n in 1 3; do
  p=$(port)
  nginx_conf "$p" "$(echo "$upstreams" | head -n "$n")"$'\n' >"$work/nginx-$n.conf"
  nginx -p "$work" -c "$work/nginx-$n.conf" -g 'daemon off;' &
  pids+=($!)
  wait_http "http://127.0.0.1:$p/healthz"
  row "cluster mode, $n replica(s) behind nginx, 8 clients" "$(load "http://127.0.0.1:$p" 8 "${secs}s")"
done

# A replica that answers each run before committing it (WASMBOX_CHECKPOINT=after-answer).
p=$(port); serve "replica-after" "$work/r4" "$p" "${cluster_env[@]}" WASMBOX_CHECKPOINT=after-answer
row "cluster mode (after-answer), 1 replica direct, 1 client" "$(load "http://127.0.0.1:$p" 1 "${secs}s")"
row "cluster mode (after-answer), 1 replica direct, 8 clients" "$(load "http://127.0.0.1:$p" 8 "${secs}s")"

# Calls 50 ms apart (an agent's turn between tool calls): what one call waits for in each mode.
p2=$(port); serve "replica-before" "$work/r5" "$p2" "${cluster_env[@]}"
row "cluster mode (before-answer), 1 client, calls 50 ms apart" "$(think "http://127.0.0.1:$p2" "${secs}s")"
row "cluster mode (after-answer), 1 client, calls 50 ms apart" "$(think "http://127.0.0.1:$p" "${secs}s")"
