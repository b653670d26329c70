"""STOW-RS through Orthanc's DICOMweb client (and so through the plugin's tokens) in a loop, until
a stop file appears or a time limit passes; writes its counts to a JSON file after every STOW.

    python3 stow_loop.py ORTHANC_URL SERVER INSTANCE_ID STATE_JSON STOP_FILE MAX_SECONDS
The Orthanc password comes in the environment (ORTHANC_PASSWORD), never on the command line."""

import json
import os
import sys
import time

import requests

url, server, instance, state, stop, limit = sys.argv[1:7]
auth = ("admin", os.environ["ORTHANC_PASSWORD"])
counts = {"ok": 0, "failed": 0, "errors": [], "started": time.time()}
deadline = time.monotonic() + float(limit)
while not os.path.exists(stop) and time.monotonic() < deadline:
    try:
        r = requests.post(f"{url}/dicom-web/servers/{server}/stow", json={"Resources": [instance]},
                          auth=auth, timeout=60)
        ok = r.status_code == 200
        detail = f"{r.status_code} {r.text[:200]}"
    except requests.RequestException as e:
        ok, detail = False, type(e).__name__
    counts["ok" if ok else "failed"] += 1
    if not ok:
        counts["errors"].append([round(time.time(), 1), detail])
    counts["last"] = time.time()
    with open(state + ".tmp", "w") as f:
        json.dump(counts, f)
    os.replace(state + ".tmp", state)
    time.sleep(0.2)
counts["done"] = True
with open(state + ".tmp", "w") as f:
    json.dump(counts, f)
os.replace(state + ".tmp", state)
