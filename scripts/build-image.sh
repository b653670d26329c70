#!/usr/bin/env bash
# Builds (once, then cached in podman's image store) a fresh Debian 12 image that boots systemd,
# for the role tests and molecule: debootstrap, then podman import. The Debian mirror is read
# from this machine's apt configuration; nothing else is downloaded.
set -euo pipefail
tag="${DWO_IMAGE:-localhost/dicomweb-oauth/bookworm-systemd:1}"
if podman image exists "$tag"; then
  echo "$tag"
  exit 0
fi
mirror=$( { sed -n 's#^URIs:[[:space:]]*\(https\{0,1\}://[^ ]*\).*#\1#p' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
            sed -n 's#^deb \(\[[^]]*\] \)\{0,1\}\(https\{0,1\}://[^ ]*\) bookworm .*#\2#p' /etc/apt/sources.list 2>/dev/null || true
          } | grep -v security | head -n 1)
[ -n "$mirror" ] || { echo "build-image: no Debian mirror in the apt configuration" >&2; exit 1; }
rootfs=$(mktemp -d /var/tmp/dwo-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,ca-certificates \
  bookworm "$rootfs" "$mirror" >&2
# No console gettys, a fresh machine-id at first boot.
rm -f "$rootfs/etc/machine-id" && : > "$rootfs/etc/machine-id"
ln -sf /dev/null "$rootfs/etc/systemd/system/getty@tty1.service"
tar -C "$rootfs" -c . | podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$tag" >&2
echo "$tag"
