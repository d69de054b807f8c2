#!/usr/bin/env bash
# iproute2 (ip netns, veth, tc) and nftables, for test/integration/netns.test.ts: a coordinator and workers
# in their own network namespaces over impaired links. netem does the delay and loss where the kernel has
# it (CONFIG_NET_SCH_NETEM); elsewhere the test drops 1% of packets with an nftables rule instead.
# Idempotent: returns at once when ip, tc and nft are there; otherwise one apt-get install (~10 s).
# It also checks that namespaces can be created here, so a missing privilege fails this step, not a test.
set -euo pipefail

missing=()
command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1 || missing+=(iproute2)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  if ! { $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; } >"$log" 2>&1; then
    tail -n 30 "$log"
    echo "51-netns: installing ${missing[*]} failed (log above)" >&2
    exit 1
  fi
  rm -f "$log"
  echo "installed ${missing[*]}"
fi

probe="tfprobe$$"
if ! ip netns add "$probe" 2>/tmp/51-netns.err; then
  echo "51-netns: cannot create a network namespace ($(cat /tmp/51-netns.err)); netns.test.ts needs root / CAP_SYS_ADMIN" >&2
  exit 1
fi
ip netns del "$probe"
netem="no netem in this kernel: the test uses nftables loss"
if ip netns add "$probe" && ip -n "$probe" link add d0 type dummy 2>/dev/null && ip netns exec "$probe" tc qdisc add dev d0 root netem delay 1ms 2>/dev/null; then
  netem="netem available"
fi
ip netns del "$probe" 2>/dev/null || true
echo "network namespaces ready ($(ip -V 2>&1), nft $(nft --version 2>&1 | awk '{print $2}'), $netem)"
