#!/usr/bin/env bash
# What the Prometheus endpoint costs (#8: "metrics on vs off costs < 3 % GET/SET
# throughput"), measured in one run.
#
# Two Ferrite servers run side by side from the same binary: one with [metrics]
# enabled = false, one with enabled = true and a scraper fetching /metrics every second
# (as Prometheus would, only more often than the usual 15 s). redis-benchmark runs GET and
# SET against them with -P 16 and -P 1, alternating off/on round by round (short rounds, so
# that drift in the machine's load hits both alike). Per workload it prints the median and
# the best of each server, and three ratios on/off: of the medians, the median of the
# per-round ratios (each round's two runs are back to back), and of the bests (the
# capacity when nothing else disturbed the run; the steadiest figure on a shared machine).
#
# Usage: scripts/bench_metrics_overhead.sh [path/to/ferrite]
#   (default build-release/src/server/ferrite; build it with
#    cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release &&
#    cmake --build build-release -j2 --target ferrite)
# Environment: ROUNDS (default 15), REQUESTS_P16 (default 500000), REQUESTS_P1
# (default 100000), CLIENTS (default 50), KEYSPACE (default 100000), PIN (default 1: with two
# or more CPUs, both servers run on CPU 0 and redis-benchmark and the scraper on CPU 1, so
# the scheduler moving them around adds no noise; 0 = no pinning).
#
# Every process it starts is stopped by PID at exit; nothing else is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-build-release/src/server/ferrite}
ROUNDS=${ROUNDS:-15}
REQUESTS_P16=${REQUESTS_P16:-500000}
REQUESTS_P1=${REQUESTS_P1:-100000}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}

[[ -x "$BIN" ]] || { echo "no ferrite binary at $BIN" >&2; exit 1; }
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

SERVER_CPU=()
CLIENT_CPU=()
if [[ ${PIN:-1} == 1 ]] && (( $(nproc) >= 2 )) && command -v taskset >/dev/null; then
  SERVER_CPU=(taskset -c 0)
  CLIENT_CPU=(taskset -c 1)
fi

WORK=$(mktemp -d /tmp/ferrite-metrics-bench-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME METRICS(true|false): writes a config, starts the server, waits for PING.
start() {
  local name=$1 metrics=$2 port mport
  port=$(free_port)
  mport=$(free_port)
  mkdir -p "$WORK/$name"
  cat >"$WORK/$name/ferrite.toml" <<EOF
[server]
bind = "127.0.0.1"
port = $port
dir = "$WORK/$name"
[persistence]
aof_enabled = false
checkpoint_enabled = false
[metrics]
enabled = $metrics
bind = "127.0.0.1"
port = $mport
EOF
  "${SERVER_CPU[@]}" "$BIN" --config "$WORK/$name/ferrite.toml" >"$WORK/$name/log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$port" ping >/dev/null || { cat "$WORK/$name/log" >&2; exit 1; }
  eval "${name}_PORT=$port ${name}_MPORT=$mport"
}

start OFF false
start ON true

# The scraper: GET /metrics once a second for as long as the script runs.
(
  while true; do
    "${CLIENT_CPU[@]}" curl -s -o /dev/null "http://127.0.0.1:$ON_MPORT/metrics" || true
    sleep 1
  done
) &
PIDS+=($!)
curl -sf -o /dev/null "http://127.0.0.1:$ON_MPORT/metrics" || { echo "metrics endpoint not answering" >&2; exit 1; }

# One redis-benchmark run; prints "<test> <rps>" lines.
bench() {
  local port=$1 pipeline=$2 n=$3
  "${CLIENT_CPU[@]}" redis-benchmark -p "$port" -c "$CLIENTS" -n "$n" -P "$pipeline" -r "$KEYSPACE" -t set,get --csv |
    awk -F'"' 'NR > 1 { print $2, $4 }'
}

declare -A RPS  # "<server> <test> P<n>" -> space-separated rps of each round
for p in 16 1; do
  n=$REQUESTS_P16
  [[ $p == 1 ]] && n=$REQUESTS_P1
  redis-benchmark -p "$OFF_PORT" -n 20000 -P "$p" -r "$KEYSPACE" -t set -q >/dev/null  # warm-up
  redis-benchmark -p "$ON_PORT" -n 20000 -P "$p" -r "$KEYSPACE" -t set -q >/dev/null
  for r in $(seq "$ROUNDS"); do
    # Alternate which server goes first, so neither always benefits from the other's warm-up.
    order="OFF ON"
    (( r % 2 == 0 )) && order="ON OFF"
    for s in $order; do
      port_var="${s}_PORT"
      while read -r test rps; do
        RPS["$s $test P$p"]+="$rps "
        printf 'round %d  P%-2d  metrics %-3s  %-4s %12.0f req/s\n' "$r" "$p" "$s" "$test" "$rps"
      done < <(bench "${!port_var}" "$p" "$n")
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
best() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
# Per-round ratios on/off of two space-separated lists of the same length.
ratios() { awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); split(b, y, " "); for (i = 1; i <= n; i++) printf "%f ", x[i] / y[i] }'; }

echo
echo "$ROUNDS rounds; requests/s; ratios are metrics on / metrics off"
printf '%-10s %10s %10s %10s %10s %9s %9s %9s\n' workload off-median on-median off-best on-best r-median r-paired r-best
for p in 16 1; do
  for test in SET GET; do
    offs=${RPS["OFF $test P$p"]}
    ons=${RPS["ON $test P$p"]}
    off=$(echo "$offs" | median)
    on=$(echo "$ons" | median)
    offb=$(echo "$offs" | best)
    onb=$(echo "$ons" | best)
    paired=$(ratios "$ons" "$offs" | median)
    printf '%-10s %10.0f %10.0f %10.0f %10.0f %9.3f %9.3f %9.3f\n' "$test -P$p" "$off" "$on" "$offb" "$onb" \
      "$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')" "$paired" \
      "$(awk -v a="$onb" -v b="$offb" 'BEGIN { print a / b }')"
  done
done
echo
echo "scraped every second: $(curl -s "http://127.0.0.1:$ON_MPORT/metrics" | grep -vc '^#') samples per scrape"
