#!/usr/bin/env bash
# Installs everything the tests and benchmarks need on a fresh Debian 12 machine, as root.
# Idempotent: a second run installs nothing. Used by `make deps` (and so by `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  make redis-server python3-venv python3-pip
  # the plugin's runtime dependencies, exactly as the oauth_plugin role installs them
  python3-requests python3-cryptography python3-jwt python3-prometheus-client
  python3-redis python3-hvac python3-jsonschema
  # real Orthanc for the end-to-end tests, and pydicom for synthetic studies
  orthanc orthanc-dicomweb orthanc-python python3-pydicom
  # fresh Debian 12 hosts for the role tests: a debootstrap image run by podman (runc)
  podman runc debootstrap
  # Prometheus and promtool: rule checks, rule unit tests, the live-metrics test
  prometheus
  # a hospital's outbound proxy (with a password: openssl hashes it), the cloud's TLS front, and
  # the network namespace the proxied Orthanc sits in
  squid nginx-light openssl iproute2
  # DCMTK as the modality of the DICOM TLS test
  dcmtk
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing Debian packages (run as root): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# A distribution redis-server may have been started by the package's init script; the tests
# start their own on another port and never touch that one.

# Every venv from its pinned set (requirements/, `make lock`): the same versions on every machine.
bash scripts/venv.sh dev
# ansible-lint brings many dependencies of its own: a venv apart keeps them out of the tests'.
bash scripts/venv.sh ansible-lint

if [ ! -d testenv/idp/node_modules/oidc-provider ] || ! cmp -s testenv/idp/package-lock.json testenv/idp/node_modules/.package-lock.copy; then
  (cd testenv/idp && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.package-lock.copy)
fi
echo "bootstrap: ready (python $(/usr/bin/python3 -V 2>&1 | cut -d' ' -f2), node $(node --version))"
