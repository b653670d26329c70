#!/usr/bin/env bash
# The pytest part of `make test`, in three sessions:
#   1. everything but the molecule scenarios (Debian 12's Orthanc on this machine);
#   2. the molecule scenarios (fresh Debian 12 and 13 containers);
#   3. the plugin's end-to-end suite again, against Debian 13's Orthanc in a container.
# 2 and 3 run side by side: a molecule run leaves this machine's 2 cores about half idle (it
# waits on apt, dpkg and systemd in its containers), and each session has its own state
# directory, so neither sees the other's servers. 3's output is printed when both are done.
# Exits non-zero if any session failed; stops whatever a session left running.
set -uo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
state=.testenv
status=0

"$py" -m pytest -q -p no:cacheprovider --ignore=tests/molecule || status=1

trixie_log="$state/e2e-trixie.log"
(
  TESTENV_STATE_DIR="$PWD/$state/pytest-trixie" DWO_ORTHANC_RELEASE=trixie \
    "$py" -m pytest -q -p no:cacheprovider --basetemp="$state/tmp-trixie" tests/e2e > "$trixie_log" 2>&1
) &
trixie_pid=$!

"$py" -m pytest -q -p no:cacheprovider tests/molecule || status=1

wait "$trixie_pid" || status=1
echo "=== the plugin's end-to-end suite against Debian 13's Orthanc ==="
cat "$trixie_log"

for dir in pytest pytest-trixie bench; do
  "$py" -m testenv stop all --state-dir "$state/$dir" >/dev/null 2>&1 || true
done
exit "$status"
