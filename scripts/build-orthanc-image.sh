#!/usr/bin/env bash
# Builds (once, then cached) an image that runs Debian's own Orthanc of one release for the
# plugin's end-to-end tests: the systemd image of scripts/build-image.sh plus the packages the
# server and oauth_plugin roles install (read from their defaults, so the tests run exactly the
# set a deployment gets). testenv starts Orthanc from it with `podman run --network host`.
# One argument: bookworm or trixie. Prints the image's tag.
set -euo pipefail
release="${1:?release: bookworm or trixie}"
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/image-tag.sh
. "$here/scripts/lib/image-tag.sh"
# The packages come from the roles' defaults: a change there is a new image.
tag=$(image_tag "${release}-orthanc" "$0" "$here/scripts/build-image.sh" \
  "$here/roles/server/defaults/main.yml" "$here/roles/oauth_plugin/defaults/main.yml")
if podman image exists "$tag"; then
  echo "$tag"
  exit 0
fi
base=$(bash "$here/scripts/build-image.sh" "$release" | tail -n 1)
packages=$(python3 - "$here" <<'PY'
import sys, yaml
root = sys.argv[1]
names = []
for role, key in (("server", "orthanc_server_packages"), ("oauth_plugin", "orthanc_oauth_plugin_packages")):
    with open(f"{root}/roles/{role}/defaults/main.yml") as f:
        names += yaml.safe_load(f)[key]
print(" ".join(names))
PY
)
ctr="dwo-build-orthanc-$release-$$"
trap 'podman rm -f "$ctr" >/dev/null 2>&1 || true' EXIT
podman run --name "$ctr" --network host --ulimit nofile=20000:20000 --ulimit nproc=30000:30000 "$base" bash -c \
  "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $packages \
   && apt-get clean && rm -rf /var/lib/apt/lists/*" >&2
podman commit --change 'CMD ["/usr/sbin/Orthanc", "--version"]' "$ctr" "$tag" >&2
echo "$tag"
