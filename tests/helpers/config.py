"""Building plugin configurations that point at the test components."""

from __future__ import annotations

import base64
import os
from typing import Any, Optional

from orthanc_dicomweb_oauth.loader.config import PluginConfig, load_config
from testenv import IdentityProvider

ENC_KEY = base64.b64encode(b"k" * 32).decode()
# Every test component listens on loopback: the plugin refuses loopback URLs unless allowed (SEC-009).
LOOPBACK = ["127.0.0.1", "localhost"]


def server_section(idp: IdentityProvider, client_id: str = "orthanc", **extra: Any) -> dict[str, Any]:
    c = idp.client(client_id)
    s: dict[str, Any] = {
        "Url": "http://127.0.0.1:9/dicom-web",
        "TokenEndpoint": idp.token_endpoint,
        "ClientId": client_id,
        "ClientSecret": c["client_secret"],
        "ClientAuthMethod": c["token_endpoint_auth_method"],
        "Scope": "dicom.read dicom.write",
        "Resilience": {"MaxRetries": 2, "RetryInitialDelaySeconds": 0.05, "RetryMaxDelaySeconds": 0.2,
                       "CircuitBreakerThreshold": 2, "CircuitBreakerTimeoutSeconds": 2},
    }
    s.update(extra)
    return {k: v for k, v in s.items() if v is not None}  # None removes a key


def plugin_config(idp: IdentityProvider, redis_url: Optional[str] = None, name: str = "remote",
                  **extra: Any) -> PluginConfig:
    section: dict[str, Any] = {"Servers": {name: server_section(idp, **extra)}, "AllowPrivateHosts": LOOPBACK}
    if redis_url:
        section["Cache"] = {"Backend": "redis", "RedisUrl": redis_url, "EncryptionKey": ENC_KEY,
                            "LockTimeoutSeconds": 5}
    return load_config(section, environ=dict(os.environ))


def metric_value(metrics: Any, name: str, **labels: str) -> float:
    v = metrics.registry.get_sample_value(name, labels)
    return 0.0 if v is None else float(v)
