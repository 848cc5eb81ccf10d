#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12's packages (run as root).
# Idempotent: skips apt entirely when everything is already installed.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libmimalloc-dev libxxhash-dev zlib1g-dev
  liblz4-dev libzstd-dev libcurl4-openssl-dev
  libssl-dev  # OpenSSL's libcrypto: SHA-256 of ACL passwords, ACL GENPASS's random bytes
  liblzf-dev  # LZF as Redis compresses RDB strings (the same code Redis bundles)
  libssl-dev  # TLS (OpenSSL)
  libgtest-dev libgmock-dev libbenchmark-dev libhiredis-dev
  python3 python3-redis python3-pytest
  redis-server redis-tools
  redis-sentinel  # Sentinel 7.0 for the failover test (tests/integration/test_sentinel.py)
  prometheus prometheus-redis-exporter  # promtool + a real Prometheus and redis_exporter for the metrics tests (#8)
  clang libclang-rt-14-dev clang-format  # fuzz targets, sanitizers, scripts/check-format.sh
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian redis-server package starts a system service on 6379; Ferrite's default port.
# Stop it (only the packaged service), so it never shadows Ferrite.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server || true
  systemctl disable redis-server >/dev/null 2>&1 || true
fi
if [ -f /var/run/redis/redis-server.pid ] && command -v service >/dev/null 2>&1; then
  service redis-server stop >/dev/null 2>&1 || true
fi
