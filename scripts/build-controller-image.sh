#!/usr/bin/env bash
# Builds (once, then cached) a Debian 13 controller: trixie's own Python 3.13, podman's client
# (it drives the host's podman service through a socket), and a venv /opt/ansible with the
# newest ansible-core, the `ansible` package, ansible-lint and molecule of
# requirements-controller.txt, from the package index. Prints the image's tag.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# The tag follows what goes into the image: the pinned versions and this recipe.
sum=$(cat "$here/requirements-controller.txt" "$0" | sha256sum | cut -c1-12)
tag="localhost/dicomweb-oauth/trixie-controller:$sum"
if podman image exists "$tag"; then
  echo "$tag"
  exit 0
fi
base=$(bash "$here/scripts/build-image.sh" trixie | tail -n 1)
ctr="dwo-build-controller-$$"
trap 'podman rm -f "$ctr" >/dev/null 2>&1 || true' EXIT
# The package index is reached the way this machine reaches it: its network and its CA bundle,
# given to pip on its command line (an environment variable would stay in the committed image).
podman run --name "$ctr" --network host --ulimit nofile=20000:20000 --ulimit nproc=30000:30000 \
  -v "$here/requirements-controller.txt:/tmp/requirements.txt:ro" \
  -v /etc/ssl/certs/ca-certificates.crt:/tmp/host-ca.crt:ro "$base" bash -c '
    set -e
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv podman git
    apt-get clean && rm -rf /var/lib/apt/lists/*
    python3 -m venv /opt/ansible
    /opt/ansible/bin/pip install -q --disable-pip-version-check --cert /tmp/host-ca.crt \
      -r /tmp/requirements.txt' >&2
podman commit "$ctr" "$tag" >&2
echo "$tag"
