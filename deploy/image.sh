#!/usr/bin/env bash
# `npm run image`: builds localhost/tern:dev from deploy/Containerfile on this machine. With no
# registry (the default here) the base is the local Node 20 image from deploy/base.sh; set
# TERN_IMAGE_BASE=docker.io/library/node:20-bookworm-slim to build from the official one.
# Prints the image's size. Run as root (podman).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/containers.conf}"
BASE="${TERN_IMAGE_BASE:-localhost/node:20-bookworm-slim}"
TAG="${TERN_IMAGE:-localhost/tern:dev}"
case "$BASE" in localhost/*) ./deploy/base.sh ;; esac
# --network host: the build stage's `npm ci` and the runtime stage's apt-get reach the registries
# the way the host does.
# The host's CA bundle goes in as a build-time mount only (never into the image), for hosts
# whose registry traffic passes a TLS-inspecting proxy with its own CA, as on this machine.
ca=()
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  ca=(-v /etc/ssl/certs/ca-certificates.crt:/run/build-ca.crt:ro --build-arg NPM_CAFILE=/run/build-ca.crt)
fi
# The commit the image is built from (the build stage has no .git), for `ternd --version`.
commit="$(git rev-parse HEAD 2>/dev/null || true)"
dirty=""
if [ -n "$commit" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then dirty=1; fi
podman build -q --network host "${ca[@]}" --build-arg "BASE=$BASE" \
  --build-arg "TERN_COMMIT=$commit" --build-arg "TERN_DIRTY=$dirty" \
  -f deploy/Containerfile -t "$TAG" . >/dev/null
podman image inspect "$TAG" --format "$TAG {{.Id}} size {{.Size}} bytes" | awk '{ printf "%s %.12s size %.1f MB\n", $1, $2, $4 / 1e6 }'
