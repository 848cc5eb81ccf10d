#!/usr/bin/env bash
# Installs test-only tools that Debian does not package, at the exact versions pinned by
# their package-lock.json: s3rver (an S3-compatible server in Node.js) for the archive-tier
# tests, into tests/support/s3rver/node_modules; and the npm libraries built on Lua scripts
# (bull, rate-limiter-flexible, ioredis) for tests/integration/test_npm_apps.py, into
# tests/support/npm-apps/node_modules.
# Idempotent: a no-op (no npm, no network) when the pinned version is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  # Debian 12's own Node.js and npm (a machine may already have Node from elsewhere).
  echo "setup-test-tools: installing nodejs and npm from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# install DIR PACKAGE: npm ci of DIR's lock file unless PACKAGE is already installed at the
# pinned version (and the install is newer than the lock file).
install() {
  local dir=$1 pkg=$2
  local want have
  want=$(node -p "require('./$dir/package.json').dependencies['$pkg']")
  have=$(node -p "try { require('./$dir/node_modules/$pkg/package.json').version } catch (e) { '' }")
  if [ "$have" = "$want" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  echo "setup-test-tools: installing $dir (npm ci, pinned by its package-lock.json)"
  # npm ci installs exactly the lock file; fall back to install if the lock file is missing.
  if [ -f "$dir/package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
}

install tests/support/s3rver s3rver
install tests/support/npm-apps bull
