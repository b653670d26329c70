#!/usr/bin/env bash
# The pytest part of `make test`, in two lanes that run side by side:
#   A. everything but the molecule scenarios (Debian 12's Orthanc on this machine), then the
#      plugin's end-to-end suite again against Debian 13's Orthanc in a container, then the
#      molecule scenarios rotation and cluster;
#   B. the other molecule scenarios (fresh Debian 12 and 13 containers, and a Debian 13 controller).
# A molecule run leaves this machine's 2 cores about half idle (it waits on apt, dpkg and
# systemd in its containers). Each session has its own state directory and temporary base, so
# none sees another's servers. Lane A's output is printed when both are done. The images both
# lanes use are built first, once (cached by podman afterwards).
# Exits non-zero if any session failed; stops whatever a session left running.
set -uo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
state=.testenv
status=0

t0=$(date +%s)
for release in bookworm trixie; do bash scripts/build-image.sh "$release" >/dev/null || status=1; done
bash scripts/build-orthanc-image.sh trixie >/dev/null || status=1
bash scripts/build-controller-image.sh >/dev/null || status=1
echo "images ready in $(( $(date +%s) - t0 )) s"

lane_a_log="$state/lane-a.log"
# Lane A's molecule scenarios (pytest -k); lane B runs the others. Both lanes take about as long.
lane_a_scenarios="rotation or cluster"
(
  rc=0
  "$py" -m pytest -q -p no:cacheprovider --ignore=tests/molecule --basetemp="$state/tmp-a" || rc=1
  echo "=== the plugin's end-to-end suite against Debian 13's Orthanc ==="
  TESTENV_STATE_DIR="$PWD/$state/pytest-trixie" DWO_ORTHANC_RELEASE=trixie \
    "$py" -m pytest -q -p no:cacheprovider --basetemp="$state/tmp-trixie" tests/e2e || rc=1
  echo "=== molecule scenarios rotation and cluster ==="
  TESTENV_STATE_DIR="$PWD/$state/pytest-molecule-a" \
    "$py" -m pytest -q -p no:cacheprovider --basetemp="$state/tmp-molecule-a" tests/molecule -k "$lane_a_scenarios" || rc=1
  exit "$rc"
) > "$lane_a_log" 2>&1 &
lane_a=$!

TESTENV_STATE_DIR="$PWD/$state/pytest-molecule" \
  "$py" -m pytest -q -p no:cacheprovider --basetemp="$state/tmp-molecule" tests/molecule -k "not ($lane_a_scenarios)" || status=1

wait "$lane_a" || status=1
echo "=== lane A: the suite on this machine, then the end-to-end suite on Debian 13's Orthanc ==="
cat "$lane_a_log"
echo "pytest lanes done in $(( $(date +%s) - t0 )) s"

for dir in pytest pytest-trixie pytest-molecule pytest-molecule-a bench; do
  "$py" -m testenv stop all --state-dir "$state/$dir" >/dev/null 2>&1 || true
done
exit "$status"
