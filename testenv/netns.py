"""A network namespace joined to this machine by one veth pair: a test host of its own, which
reaches this machine only at the pair's outer address (not its loopback, not by any DNS name).

The /30 of the pair is derived from the state directory, so that two test sessions running side
by side get different namespaces and addresses."""

from __future__ import annotations

import hashlib
import ipaddress
import subprocess
from collections.abc import Sequence
from pathlib import Path

SUBNETS = ipaddress.ip_network("10.201.0.0/16")  # only ever on this machine's own veth pairs


class Namespace:
    def __init__(self, state_dir: Path, role: str = "hospital") -> None:
        digest = hashlib.sha256(f"{Path(state_dir).resolve()}:{role}".encode()).hexdigest()
        self.name = f"dwo-{role}-{digest[:8]}"
        self.veth = f"dwo{digest[:8]}"  # interface names have at most 15 characters
        base = SUBNETS.network_address + 4 * (int(digest[8:14], 16) % (SUBNETS.num_addresses // 4))
        self.outer_addr = str(base + 1)
        self.inner_addr = str(base + 2)

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    def create(self) -> Namespace:
        self.destroy()  # a leftover from an interrupted run
        inner = f"{self.veth}n"
        for cmd in (["ip", "netns", "add", self.name],
                    ["ip", "link", "add", self.veth, "type", "veth", "peer", "name", inner],
                    ["ip", "link", "set", inner, "netns", self.name],
                    ["ip", "addr", "add", f"{self.outer_addr}/30", "dev", self.veth],
                    ["ip", "link", "set", self.veth, "up"],
                    self.argv(["ip", "addr", "add", f"{self.inner_addr}/30", "dev", inner]),
                    self.argv(["ip", "link", "set", inner, "up"]),
                    self.argv(["ip", "link", "set", "lo", "up"])):
            subprocess.run(cmd, check=True, capture_output=True, timeout=30)
        return self

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the namespace (``ip netns exec`` execs it: the PID is the program's)."""
        return ["ip", "netns", "exec", self.name, *argv]

    def destroy(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "delete", self.veth], capture_output=True, timeout=30)
