#!/usr/bin/env bash
# Makes a fresh checkout runnable: SoftHSM2 from Debian's packages when missing, pnpm, the
# workspace dependencies, and a build. Safe to run again; each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9

if [ ! -e /usr/lib/softhsm/libsofthsm2.so ] || ! command -v softhsm2-util >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing softhsm2 and opensc from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq softhsm2 opensc >/dev/null
  else
    echo "bootstrap: SoftHSM2 is missing; install it (Debian: apt-get install softhsm2 opensc)" >&2
    exit 1
  fi
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "bootstrap: installing pnpm $PNPM_VERSION" >&2
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm run --silent build
