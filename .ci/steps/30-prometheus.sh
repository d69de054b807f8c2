#!/usr/bin/env bash
# Prometheus and promtool, from Debian's `prometheus` package, for test/deploy (promtool check/test rules,
# check metrics, and a real Prometheus scraping a local cluster). The tests start the binary themselves on
# loopback; nothing here starts the packaged service (there is no systemd here anyway).
# Idempotent: returns at once when both binaries are there; otherwise ~40 s (apt-get update + install).
set -euo pipefail

if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  echo "prometheus ready ($(prometheus --version 2>&1 | head -n 1))"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
log=$(mktemp)
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends prometheus; } >"$log" 2>&1; then
  tail -n 30 "$log"
  echo "30-prometheus: installing Debian's prometheus package failed (log above)" >&2
  exit 1
fi
rm -f "$log"
# The package's postinst may have started its service where an init system exists; the tests want their own.
$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
echo "prometheus installed in $(( $(date +%s) - start )) s ($(prometheus --version 2>&1 | head -n 1))"
