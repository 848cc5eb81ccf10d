#!/usr/bin/env bash
# Installs test-only tools that Debian does not package: s3rver (an S3-compatible server in
# Node.js) for the archive-tier tests, into tests/support/s3rver/node_modules, at the exact
# versions pinned by tests/support/s3rver/package-lock.json.
# Idempotent: a no-op (no npm, no network) when the pinned version is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=tests/support/s3rver
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  # Debian 12's own Node.js and npm (a machine may already have Node from elsewhere).
  echo "setup-test-tools: installing nodejs and npm from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

want=$(node -p "require('./$DIR/package.json').dependencies.s3rver")
have=$(node -p "try { require('./$DIR/node_modules/s3rver/package.json').version } catch (e) { '' }")
if [ "$have" = "$want" ] && [ -x "$DIR/node_modules/.bin/s3rver" ] \
   && [ "$DIR/node_modules/.package-lock.json" -nt "$DIR/package-lock.json" ]; then
  exit 0
fi

echo "setup-test-tools: installing s3rver $want into $DIR/node_modules"
# npm ci installs exactly the lock file; fall back to install if the lock file is missing.
if [ -f "$DIR/package-lock.json" ]; then
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
else
  (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error)
fi
