#!/usr/bin/env bash
# tcpdump, for test/integration/curve.test.ts: it captures loopback traffic of a plain and a CURVE run and
# checks that the model's weights cross in clear only in the plain one. Capturing needs root (CI is root).
# Idempotent: returns at once when tcpdump is there; otherwise one apt-get install (~10 s).
set -euo pipefail

if command -v tcpdump >/dev/null 2>&1; then
  echo "tcpdump ready ($(tcpdump --version 2>&1 | head -n 1))"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
log=$(mktemp)
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get install -y -qq --no-install-recommends tcpdump || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends tcpdump; }; } >"$log" 2>&1; then
  tail -n 30 "$log"
  echo "50-capture: installing tcpdump failed (log above)" >&2
  exit 1
fi
rm -f "$log"
echo "tcpdump installed ($(tcpdump --version 2>&1 | head -n 1))"
