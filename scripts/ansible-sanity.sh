#!/usr/bin/env bash
# ansible-test sanity on the collection as it is built (ansible-galaxy collection build), for
# one ansible-core version: scripts/ansible-sanity.sh 2.16.14
# Each version gets its own venv (.testenv/ansible-<version>-py<python>) from its pinned set
# (requirements/sanity-<version>.txt); ansible-test makes one
# venv per sanity test and installs that test's pinned requirements into it from the package
# index. An ansible-core that needs a newer Python than this machine's (2.20 and later need
# 3.12) runs in the Debian 13 controller image (Python 3.13, scripts/build-controller-image.sh),
# through scripts/in-controller.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
version="$1"
root="$PWD"
needs_312() { [ "$(printf '%s\n' "$1" 2.20 | sort -V | head -n1)" = 2.20 ]; }
if needs_312 "$version" && /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info >= (3, 12))'; then
  exec bash scripts/in-controller.sh -- bash scripts/ansible-sanity.sh "$version"
fi
start=$(date +%s)
pyver=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
venv="$root/.testenv/ansible-$version-py$pyver"
bash scripts/venv.sh "sanity-$version"
# ansible-test bootstraps pip in its venvs with a get-pip script it downloads from a host this
# machine cannot reach; the stand-in bootstraps Python's bundled pip (ensurepip) instead and
# installs the requested pip from the package index like any other package.
pip_version=$("$venv/bin/python" - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
cp scripts/get_pip_local.py "$cache/get_pip_${pip_version//./_}.py"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/ansible-galaxy" collection build "$root" --output-path "$work" >/dev/null
# --no-deps: sanity needs only this collection (its dependency, community.hashi_vault, would come
# from Galaxy, which is not reachable).
"$venv/bin/ansible-galaxy" collection install --no-deps "$work"/dicomweb_oauth-orthanc-*.tar.gz -p "$work/c" >/dev/null
cd "$work/c/ansible_collections/dicomweb_oauth/orthanc"
"$venv/bin/ansible-test" sanity --local --requirements --python "$pyver" > "$work/sanity.log" 2>&1 || {
  grep -E "^(ERROR|FATAL)" "$work/sanity.log" >&2 || tail -50 "$work/sanity.log" >&2
  exit 1
}
echo "ansible-test sanity (ansible-core $version, Python $pyver): $(grep -c '^Running sanity test' "$work/sanity.log") tests passed in $(( $(date +%s) - start )) s"
