#!/usr/bin/env bash
# Builds (once, then cached in podman's image store) a fresh Debian image that boots systemd, for
# the role tests and molecule: debootstrap, then podman import. One argument: the release,
# bookworm (Debian 12, the default) or trixie (Debian 13). The Debian mirror is read from this
# machine's apt configuration; nothing else is downloaded. Prints the image's tag.
set -euo pipefail
release="${1:-bookworm}"
case "$release" in
  bookworm|trixie) ;;
  *) echo "build-image: release must be bookworm or trixie, not '$release'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/image-tag.sh
. "$here/scripts/lib/image-tag.sh"
tag=$(image_tag "${release}-systemd" "$0")
if podman image exists "$tag"; then
  alias_current "$tag"
  echo "$tag"
  exit 0
fi
# The first non-security URI of the machine's apt sources (deb822 or one-line format).
mirror=$( { sed -n 's#^URIs:[[:space:]]*\(https\{0,1\}://[^ ]*\).*#\1#p' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
            sed -n 's#^deb \(\[[^]]*\] \)\{0,1\}\(https\{0,1\}://[^ ]*\) [a-z]* .*#\2#p' /etc/apt/sources.list 2>/dev/null || true
          } | grep -v security | head -n 1)
[ -n "$mirror" ] || { echo "build-image: no Debian mirror in the apt configuration" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "build-image: debootstrap is not installed" >&2; exit 1; }
# debootstrap knows a release by its script; Debian 12's debootstrap has trixie's as a link.
rootfs=$(mktemp -d /var/tmp/dwo-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,ca-certificates \
  "$release" "$rootfs" "$mirror" >&2
# No console gettys, a fresh machine-id at first boot.
rm -f "$rootfs/etc/machine-id" && : > "$rootfs/etc/machine-id"
ln -sf /dev/null "$rootfs/etc/systemd/system/getty@tty1.service"
tar -C "$rootfs" -c . | podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$tag" >&2
alias_current "$tag"
echo "$tag"
