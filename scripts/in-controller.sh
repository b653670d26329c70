#!/usr/bin/env bash
# Runs a command in the Debian 13 controller image (scripts/build-controller-image.sh: trixie's
# Python 3.13 and /opt/ansible with the newest ansible-core), with this repository mounted at
# the same path as the working directory, on this machine's network. The package index is
# reached the way this machine reaches it: its CA bundle and its global pip.conf (ansible-test
# runs pip with a clean environment, so PIP_* variables would not reach it).
# Usage: scripts/in-controller.sh [-e NAME]... [-v SRC:DST]... -- command [args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
extra=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do extra+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
image=$(bash "$root/scripts/build-controller-image.sh" | tail -n 1)
index=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
[ -f /etc/pip.conf ] && index+=(-v /etc/pip.conf:/etc/pip.conf:ro)
exec podman run --rm --network host --ulimit nofile=20000:20000 --ulimit nproc=30000:30000 \
  -v "$root:$root" -w "$root" "${index[@]}" -e PIP_DISABLE_PIP_VERSION_CHECK=1 \
  -e PATH=/opt/ansible/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  "${extra[@]}" "$image" "$@"
