"""Prometheus metrics of SPEC 3.6, in the plugin's own registry (never the global one, so a
host process's metrics and ours cannot collide)."""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .. import API_VERSION, __version__

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.acquisitions = Counter(
            "dicomweb_oauth_token_acquisitions", "Token requests made to the identity provider.",
            ["server", "status"], registry=r)
        self.acquisition_duration = Histogram(
            "dicomweb_oauth_token_acquisition_duration_seconds",
            "Duration of one token acquisition, retries included.", ["server"], registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.expiry = Gauge(
            "dicomweb_oauth_token_expiry_timestamp_seconds",
            "Unix time at which the current token expires.", ["server"], registry=r)
        self.cache_hits = Counter(
            "dicomweb_oauth_cache_hits", "Token reads answered from the cache.", ["server"], registry=r)
        self.cache_misses = Counter(
            "dicomweb_oauth_cache_misses", "Token reads that had to wait for an acquisition.",
            ["server"], registry=r)
        self.breaker_state = Gauge(
            "dicomweb_oauth_circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 open, 2 half-open.", ["server"], registry=r)
        self.retries = Counter(
            "dicomweb_oauth_retries", "Retries of token requests.", ["server"], registry=r)
        self.errors = Counter(
            "dicomweb_oauth_errors", "Errors by code.", ["server", "code"], registry=r)
        self.header_updates = Counter(
            "dicomweb_oauth_header_updates",
            "Updates of the Authorization header of Orthanc's DICOMweb server definition.",
            ["server"], registry=r)
        self.shared_cache = Counter(
            "dicomweb_oauth_shared_cache_events",
            "Shared (Redis) cache events: adopted, stored, unavailable, rejected.",
            ["server", "event"], registry=r)
        self.build = Info("dicomweb_oauth_build", "Plugin build information.", registry=r)
        self.build.info({"version": __version__, "api_version": str(API_VERSION),
                         "python": platform.python_version()})

    def render(self) -> bytes:
        return generate_latest(self.registry)
