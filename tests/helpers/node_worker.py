"""One simulated Orthanc node: a token manager in its own process, reading its token in a loop.

    python -m tests.helpers.node_worker CONFIG_JSON SECONDS

Prints one JSON object: the tokens it saw (as SHA-256 digests, never the tokens) with the
time each was first seen, and how many reads failed."""

from __future__ import annotations

import hashlib
import json
import sys
import time

from orthanc_dicomweb_oauth.loader.config import load_config
from orthanc_dicomweb_oauth.loader.errors import OAuthPluginError
from orthanc_dicomweb_oauth.runtime.metrics import Metrics
from orthanc_dicomweb_oauth.runtime.token_manager import build_managers


def main() -> None:
    with open(sys.argv[1]) as f:
        section = json.load(f)
    seconds = float(sys.argv[2])
    managers = build_managers(load_config(section), Metrics())
    (m,) = managers.values()
    m.start()
    seen: dict[str, float] = {}
    failures = 0
    reads = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            digest = hashlib.sha256(m.get_token().encode()).hexdigest()
            seen.setdefault(digest, time.time())
        except OAuthPluginError:
            failures += 1
        reads += 1
        time.sleep(0.02)
    m.stop()
    print(json.dumps({"tokens": seen, "failures": failures, "reads": reads}))


if __name__ == "__main__":
    main()
