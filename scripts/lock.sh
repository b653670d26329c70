#!/usr/bin/env bash
# `make lock`: resolves every pinned set of requirements/ anew, transitive dependencies and their
# hashes included, each for the Python that installs it. Run it deliberately (to move a version,
# edit the .in file first), read the diff of the .txt files, and say in the changelog what moved.
# scripts/lock.sh [SET...] resolves only the sets named (dev, ansible-lint, controller, ...).
# Each image or venv built from a set follows it: a new lock means a new image tag or venv.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=.venv/bin/uv
[ -x "$uv" ] || { echo "lock: run 'make deps' first (uv comes from the dev set)" >&2; exit 1; }
# set  python  what installs it
sets=(
  "dev            3.11  .venv on this machine (Debian 12)"
  "dev-stubs      3.11  .venv, without dependencies"
  "ansible-lint   3.11  .testenv/ansible-lint"
  "sanity-2.16.14 3.11  scripts/ansible-sanity.sh 2.16.14"
  "sanity-2.21.5  3.13  scripts/ansible-sanity.sh 2.21.5, in the Debian 13 controller"
  "controller     3.13  the Debian 13 controller image's /opt/ansible"
)
wanted=" $* "
for line in "${sets[@]}"; do
  read -r name python _ <<<"$line"
  [ $# -eq 0 ] || [[ "$wanted" == *" $name "* ]] || continue
  extra=()
  [ "$name" = dev-stubs ] && extra+=(--no-deps)
  # manylinux_2_36: Debian 12's glibc; Debian 13's is newer, so every wheel chosen runs on both.
  (cd requirements && "../$uv" pip compile --quiet --native-tls --generate-hashes \
      --python-version "$python" --python-platform x86_64-manylinux_2_36 \
      --custom-compile-command "make lock" "${extra[@]}" "$name.in" -o "$name.txt")
  echo "lock: requirements/$name.txt ($(grep -c '^[a-z0-9]' "requirements/$name.txt") packages, Python $python)"
done
