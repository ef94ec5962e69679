#!/usr/bin/env bash
# Installs the daemons the benches compare Tern with (issue 18: "Benchmarks compare with
# BIRD/FRR/GoBGP on this machine"), as root, from Debian: BIRD 2 and FRR (which .ci/run installs
# for the conformance suite too) and GoBGP (gobgpd 3.10.0 in Debian 12), which only the benches
# use, so CI does not install it. The benches start every daemon themselves, in their own
# namespaces or on a 127.0.0.0/8 port; Debian's gobgpd unit must not run a second copy on the
# host's port 179, so it is disabled and stopped where systemd runs.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends bird2 frr gobgpd iproute2 >/dev/null
if [ -d /run/systemd/system ]; then
  systemctl disable --now gobgpd >/dev/null 2>&1 || true
fi
gobgpd --version
