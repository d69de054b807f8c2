#!/usr/bin/env bash
# The native TensorFlow backend: tfjs-node's binding compiled against the pinned TensorFlow pip wheel,
# because tfjs-node's own install script downloads from hosts CI cannot reach (docs/native.md).
# Idempotent: when the addon is already built it only re-checks, in a fresh node, that it loads.
# A failure fails CI: test/cli/native.test.ts skips only when this step never ran.
set -euo pipefail
cd "$(dirname "$0")/../.."

# node-gyp needs a C++ compiler, make and python3 (with venv); install only what is missing.
missing=()
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3 python3-venv); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} (build-essential) for node-gyp"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential "${missing[@]}"
fi

start=$(date +%s)
node bin/tensorfleet.mjs setup native --from-pip
echo "native setup step took $(( $(date +%s) - start )) s"
