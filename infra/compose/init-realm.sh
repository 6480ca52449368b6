#!/bin/sh
# One-shot realm set-up for the compose example: a SoftHSM token in the shared volume (once),
# then `bkv vault init` (realm keys in the token, database schema). Safe to run again: an
# existing token and realm are kept.
set -eu
conf="${SOFTHSM2_CONF:?}"
tokens="$(dirname "$conf")/tokens"
mkdir -p "$tokens"
[ -f "$conf" ] || printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$tokens" > "$conf"

if ! softhsm2-util --show-slots | grep -q "Label: *bkv *$"; then
  softhsm2-util --init-token --free --label bkv \
    --pin "$(cat /run/secrets/hsm_pin)" --so-pin "$(cat /run/secrets/hsm_so_pin)"
fi
exec node /opt/bkv/packages/cli/dist/main.js vault init
