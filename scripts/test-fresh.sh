#!/usr/bin/env bash
# `make test-fresh`: the suite as CI runs it on a machine without this one's cached images and
# venvs. It clones the committed HEAD into a new folder, and runs .ci/run there as CI does (CI=true,
# no standard input) with DWO_IMAGE_SALT set, so that every image is built afresh under new tags
# from the pinned sets (scripts/lib/image-tag.sh); the clone makes its own venvs and node modules.
# What it cannot make fresh: the Debian packages installed on this machine, and pip's download
# cache (whose files pip checks against the pinned hashes anyway). Prints the time; removes the
# clone and the salted image tags afterwards.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
salt="fresh-$(date +%s)"
work=$(mktemp -d /var/tmp/dwo-fresh.XXXXXX)
# mktemp makes it 0700; the tests' squid runs as the user proxy and must reach its log in the clone.
chmod 0755 "$work"
git clone -q "$root" "$work/clone" || exit 1
echo "test-fresh: $(git -C "$work/clone" log --oneline -1) in $work/clone, images salted with $salt"
t0=$(date +%s)
(cd "$work/clone" && CI=true DWO_IMAGE_SALT="$salt" bash .ci/run </dev/null)
rc=$?
echo "test-fresh: rc $rc in $(( $(date +%s) - t0 )) s"
# The salted images are of no use to a later run: drop the tags this run made (an image that is
# also NAME:current stays under that name until the next build script call moves it).
podman images --format json | python3 -c '
import json, sys
t0 = int(sys.argv[1])
for image in json.load(sys.stdin):
    for name in image.get("Names") or []:
        if name.startswith("localhost/dicomweb-oauth/") and not name.endswith(":current") and image["Created"] >= t0:
            print(name)' "$t0" | xargs -r podman rmi >/dev/null 2>&1 || true
rm -rf "$work"
exit "$rc"
