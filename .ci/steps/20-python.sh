#!/usr/bin/env bash
# Python Keras for the saving cross-checks (test/python/*.py) and TensorBoard for the event-file tests.
# Idempotent: when the venv already holds the pinned versions it returns in well under a second,
# without importing TensorFlow (which alone takes ~10 s) or touching pip.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv
# Pinned together: tensorflow-cpu 2.19 wants tensorboard ~=2.19 and keras >=3.5; all ship cp311 wheels.
PINS=(tensorflow-cpu==2.19.0 keras==3.10.0 tensorboard==2.19.0 h5py==3.13.0)

pins_present() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "${PINS[@]}" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    assert version(name) == want, pin
PY
}

if pins_present; then
  echo "python venv ready ($VENV: ${PINS[*]})"
  exit 0
fi

# Prefer 3.11 (every pin has a wheel for it), then whatever python3 the machine has.
PY=$(command -v python3.11 || command -v python3)
start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
log=$(mktemp)
# pip's own chatter goes to a log that is shown only when the install fails.
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${PINS[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" -c 'import keras, tensorboard, h5py; print("installed keras", keras.__version__)'
echo "python venv installed in $(( $(date +%s) - start )) s"
