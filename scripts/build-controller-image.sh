#!/usr/bin/env bash
# Builds (once, then cached) a Debian 13 controller: trixie's own Python 3.13, podman's client
# (it drives the host's podman service through a socket), and a venv /opt/ansible with the
# pinned set requirements/controller.txt (the newest ansible-core, the `ansible` package,
# ansible-lint and molecule, every dependency pinned and checked by hash). Prints the image's tag.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/image-tag.sh
. "$here/scripts/lib/image-tag.sh"
# The tag follows what goes into the image: this recipe, the base image's and the pinned set.
tag=$(image_tag trixie-controller "$0" "$here/scripts/build-image.sh" "$here/scripts/venv.sh" \
  "$here/requirements/controller.txt")
if podman image exists "$tag"; then
  echo "$tag"
  exit 0
fi
base=$(bash "$here/scripts/build-image.sh" trixie | tail -n 1)
ctr="dwo-build-controller-$$"
trap 'podman rm -f "$ctr" >/dev/null 2>&1 || true' EXIT
# The package index is reached the way this machine reaches it: its network and its CA bundle,
# given to pip for this one command (an environment variable of the container would stay in the
# committed image).
podman run --name "$ctr" --network host --ulimit nofile=20000:20000 --ulimit nproc=30000:30000 \
  -v "$here/scripts/venv.sh:/tmp/dwo/scripts/venv.sh:ro" \
  -v "$here/requirements/controller.txt:/tmp/dwo/requirements/controller.txt:ro" \
  -v /etc/ssl/certs/ca-certificates.crt:/tmp/host-ca.crt:ro "$base" bash -c '
    set -e
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv podman git
    apt-get clean && rm -rf /var/lib/apt/lists/*
    PIP_CERT=/tmp/host-ca.crt bash /tmp/dwo/scripts/venv.sh controller' >&2
podman commit "$ctr" "$tag" >&2
echo "$tag"
