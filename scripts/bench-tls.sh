#!/usr/bin/env bash
# Throughput over TLS, Ferrite beside Debian's redis-server on the same machine:
# redis-benchmark --tls, SET and GET, 50 clients, pipeline 1 and 32, ROUNDS rounds
# alternating Ferrite, Redis, Ferrite, …; prints the median requests/s of each and the
# ratio Ferrite / Redis. Both servers: no persistence, same certificate, no client
# certificates (tls-auth-clients no), TLSv1.3 (OpenSSL's default suite).
#
#   FERRITE_BIN=build/src/server/ferrite ROUNDS=3 N1=200000 N32=2000000 scripts/bench-tls.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERRITE_BIN:-build/src/server/ferrite}
ROUNDS=${ROUNDS:-3}
N1=${N1:-200000}     # requests at pipeline 1
N32=${N32:-2000000}  # requests at pipeline 32
CLIENTS=${CLIENTS:-50}
TMP=$(mktemp -d /tmp/bench-tls.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

(cd "$TMP" &&
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bench-ca -keyout ca.key -out ca.crt &&
  openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr &&
  echo "subjectAltName=DNS:localhost,IP:127.0.0.1" > ext.cnf &&
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
    -extfile ext.cnf -out server.crt) >/dev/null 2>&1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_ferrite() {
  local port=$1 dir=$TMP/ferrite
  mkdir -p "$dir"
  cat > "$dir/ferrite.toml" <<TOML
[server]
bind = "127.0.0.1"
port = 0
dir = "$dir"
[persistence]
aof_enabled = false
checkpoint_enabled = false
[tls]
port = $port
cert_file = "$TMP/server.crt"
key_file = "$TMP/server.key"
ca_cert_file = "$TMP/ca.crt"
auth_clients = "no"
TOML
  "$BIN" --config "$dir/ferrite.toml" >"$dir/log" 2>&1 &
  PIDS+=($!)
}

start_redis() {
  local port=$1 dir=$TMP/redis
  mkdir -p "$dir"
  redis-server --port 0 --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
    --tls-port "$port" --tls-cert-file "$TMP/server.crt" --tls-key-file "$TMP/server.key" \
    --tls-ca-cert-file "$TMP/ca.crt" --tls-auth-clients no >"$dir/log" 2>&1 &
  PIDS+=($!)
}

cli() { redis-cli --tls --cacert "$TMP/ca.crt" -p "$1" "${@:2}"; }

wait_up() {
  for _ in $(seq 1 200); do
    [ "$(cli "$1" PING 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  echo "server on $1 did not start" >&2
  exit 1
}

FP=$(free_port)
RP=$(free_port)
start_ferrite "$FP"
start_redis "$RP"
wait_up "$FP"
wait_up "$RP"

# one run: prints requests/s of the test
run() {  # port test pipeline n
  redis-benchmark --tls --cacert "$TMP/ca.crt" -p "$1" -c "$CLIENTS" -n "$4" -P "$3" \
    -r 100000 -d 16 -t "$2" --csv -q 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"'
}

median() { tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "TLS throughput, $CLIENTS clients, median of $ROUNDS rounds (requests/s)"
printf '%-6s %-3s %12s %12s %8s\n' test P ferrite redis ratio
for P in 1 32; do
  n=$N1
  [ "$P" = 32 ] && n=$N32
  for t in set get; do
    f=() r=()
    for _ in $(seq 1 "$ROUNDS"); do
      f+=("$(run "$FP" "$t" "$P" "$n")")
      r+=("$(run "$RP" "$t" "$P" "$n")")
    done
    fm=$(echo "${f[*]}" | median)
    rm=$(echo "${r[*]}" | median)
    printf '%-6s %-3s %12s %12s %8s\n' "$t" "$P" "$fm" "$rm" \
      "$(python3 -c "print(f'{$fm/$rm:.2f}')")"
  done
done
