#!/usr/bin/env bash
# `npm run peer-images`: builds the containerised conformance peers, localhost/tern-bird:dev and
# localhost/tern-frr:dev, from Debian bookworm packages on the local base (deploy/base.sh), or
# FROM TERN_PEER_BASE (e.g. docker.io/library/debian:bookworm) where a registry is reachable.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/containers.conf}"
BASE="${TERN_PEER_BASE:-localhost/debian:bookworm}"
case "$BASE" in localhost/*) ./deploy/base.sh ;; esac
for peer in bird frr; do
  podman build -q --network host --build-arg "BASE=$BASE" -f "conformance/containers/$peer.Containerfile" -t "localhost/tern-$peer:dev" conformance/containers >/dev/null
  podman image inspect "localhost/tern-$peer:dev" --format "localhost/tern-$peer:dev {{.Size}}" | awk '{ printf "%s %.1f MB\n", $1, $2 / 1e6 }'
done
