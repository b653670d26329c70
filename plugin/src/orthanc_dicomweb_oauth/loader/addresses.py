"""Which hosts a URL may name: the one place that decides whether a host is loopback, private,
link-local, unique-local, unspecified or a cloud metadata endpoint.

The resolver (glibc's getaddrinfo, and so requests, urllib3 and curl) accepts many spellings of
one IPv4 address: ``2130706433``, ``0x7f000001``, ``017700000001``, ``0177.0.0.1``, ``127.1`` and
``0`` all reach a local address. A check that only understands dotted quads is fooled by every
one of them, so hosts are first normalised exactly as ``inet_aton`` reads them (one to four parts,
each decimal, octal with a leading 0 or hexadecimal with 0x, the last part filling the remaining
bytes), then classified. IPv6 hosts are unwrapped when they carry an IPv4 address (IPv4-mapped,
IPv4-compatible, NAT64). DNS names are not resolved: what a name resolves to on the controller
(or now) says nothing about what it resolves to on the host later; an egress firewall or proxy is
the defence against names that point inwards."""

from __future__ import annotations

import ipaddress
import re
from typing import Optional, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# Names that reach this host through /etc/hosts on Debian, whatever DNS says.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
# Cloud instance metadata services: they hand out credentials to whoever asks from the instance.
# AWS names its service instance-data (instance-data.ec2.internal in a VPC with Amazon DNS).
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "metadata.goog", "instance-data",
                            "instance-data.ec2.internal"})
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, Azure, GCP, Oracle, OpenStack
    "169.254.170.2",    # AWS ECS task metadata
    "fd00:ec2::254",    # AWS IMDS over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "192.0.0.192",      # Oracle Cloud (legacy)
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DNS_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
_PART = re.compile(r"^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$")


def canonical_host(host: str) -> str:
    """Lower case, brackets and IPv6 zone removed, trailing dots dropped."""
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    h = h.split("%", 1)[0] if ":" in h else h
    return h.rstrip(".")


def _inet_aton(host: str) -> Optional[ipaddress.IPv4Address]:
    """The address ``inet_aton`` would read from ``host``, or None if it is not one."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.match(p) for p in parts):
        return None
    values = [int(p, 16) if p.startswith("0x") else int(p, 8) if len(p) > 1 and p[0] == "0" else int(p or "0")
              for p in parts]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for i, v in enumerate(head):
        number |= v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def parse_address(host: str) -> Optional[IPAddress]:
    """The IP address a host spelling stands for (IPv4 inside IPv6 unwrapped), or None for a
    DNS name."""
    h = canonical_host(host)
    if ":" in h:
        try:
            ip6 = ipaddress.IPv6Address(h)
        except ValueError:
            return None
        if ip6.ipv4_mapped is not None:
            return ip6.ipv4_mapped
        if ip6 in _NAT64 or (int(ip6) >> 32 == 0 and int(ip6) > 1):  # NAT64 or IPv4-compatible
            return ipaddress.IPv4Address(int(ip6) & 0xFFFFFFFF)
        return ip6
    return _inet_aton(h)


def is_valid_host(host: str) -> bool:
    """A host a URL may carry: an IP address in any spelling, or a DNS name."""
    h = canonical_host(host)
    return bool(h) and (parse_address(h) is not None or bool(_DNS_NAME.match(h)))


def classify_host(host: str) -> Optional[str]:
    """What makes this host unfit for a public endpoint, or None for a public address or an
    ordinary DNS name."""
    h = canonical_host(host)
    if h in METADATA_NAMES:
        return "a cloud metadata endpoint"
    if h in LOOPBACK_NAMES or h.endswith(".localhost"):
        return "loopback"
    ip = parse_address(h)
    if ip is None:
        return None
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata endpoint"
    if ip.is_unspecified:
        return "unspecified (it reaches this host)"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"):
        return "unique-local"
    if ip.is_private:
        return "a private range"
    if not ip.is_global:
        return "not globally routable"
    return None


def host_key(host: str) -> str:
    """The form two spellings of one host share (for matching AllowPrivateHosts entries)."""
    ip = parse_address(host)
    return str(ip) if ip is not None else canonical_host(host)


def is_loopback(host: Optional[str]) -> bool:
    return bool(host) and classify_host(host or "") in ("loopback", "unspecified (it reaches this host)")
