#!/usr/bin/env bash
# Makes one of the project's virtualenvs from its pinned set (requirements/<set>.txt, written by
# `make lock`), or leaves it as it is when it already holds that set: scripts/venv.sh SET
#   dev             .venv (Debian 12's Python, with its site packages: the plugin's libraries)
#   ansible-lint    .testenv/ansible-lint
#   sanity-<core>   .testenv/ansible-<core>-py<python> (scripts/ansible-sanity.sh)
#   controller      /opt/ansible (inside the Debian 13 controller image only)
# A venv whose pinned set changed is made anew, so that it holds exactly the set and nothing
# left from an earlier one. pip checks every file against the hashes in the set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name="${1:?usage: scripts/venv.sh dev|ansible-lint|sanity-<ansible-core version>|controller}"
python=/usr/bin/python3
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
opts=()
locks=("$name")
case "$name" in
  dev) dir="$root/.venv"; opts=(--system-site-packages); locks=(dev dev-stubs) ;;
  ansible-lint) dir="$root/.testenv/ansible-lint" ;;
  sanity-*) dir="$root/.testenv/ansible-${name#sanity-}-py$pyver" ;;
  controller) dir=/opt/ansible ;;
  *) echo "venv: unknown set '$name'" >&2; exit 2 ;;
esac
files=()
for lock in "${locks[@]}"; do
  f="$root/requirements/$lock.txt"
  [ -f "$f" ] || { echo "venv: no pinned set $f: add requirements/$lock.in and run 'make lock'" >&2; exit 1; }
  files+=("$f")
done
want=$(cat "${files[@]}" | sha256sum | cut -c1-16)
if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.pinned-set" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
rm -rf "$dir"
"$python" -m venv "${opts[@]}" "$dir"
for f in "${files[@]}"; do
  nodeps=()
  # The stubs' own dependencies (urllib3 2) must not replace Debian's (requirements/dev-stubs.in).
  [ "$(basename "$f")" = dev-stubs.txt ] && nodeps=(--no-deps)
  "$dir/bin/pip" install -q --disable-pip-version-check --require-hashes "${nodeps[@]}" -r "$f"
done
echo "$want" > "$dir/.pinned-set"
echo "venv: $dir holds requirements/$(IFS=+; echo "${locks[*]}") (Python $pyver)" >&2
