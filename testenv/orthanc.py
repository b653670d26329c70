"""Real Orthanc servers (Debian's orthanc, orthanc-dicomweb, orthanc-python) for the tests.

``OrthancServer.source(...)`` runs the plugin from this repository with Debian's python3-*
libraries (the install path the oauth_plugin role uses); ``OrthancServer.target(...)`` is the
protected remote DICOMweb server whose filter accepts only valid bearer JWTs.
Both listen on loopback ports with RemoteAccessAllowed false and the DICOM port disabled.

Which Orthanc: this machine's (Debian 12: orthanc 1.10.1, orthanc-python 4.0), or, with
``DWO_ORTHANC_RELEASE=trixie``, Debian 13's (orthanc 1.12.7, orthanc-python 5.0 on Python 3.13)
in a container of the image scripts/build-orthanc-image.sh makes. The container shares this
machine's network (its Orthanc listens on the same loopback ports and reaches the provider and
Redis there) and sees this repository and the state directory at the same paths."""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

from .netns import Namespace
from .process import ManagedProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SCRIPT = ROOT / "plugin" / "src" / "dicomweb_oauth_plugin.py"
FILTER_SCRIPT = Path(__file__).resolve().parent / "orthanc_target" / "jwt_filter.py"
ORTHANC = "/usr/sbin/Orthanc"
PLUGINS_DIR = "/usr/share/orthanc/plugins"
HOST_RELEASE = "bookworm"
RELEASE = os.environ.get("DWO_ORTHANC_RELEASE", HOST_RELEASE)


@functools.cache
def orthanc_image(release: str) -> str:
    """The tag of the Orthanc image of a Debian release (built once, then cached by podman)."""
    out = subprocess.run(["bash", str(ROOT / "scripts" / "build-orthanc-image.sh"), release],
                         capture_output=True, text=True, check=True, timeout=900).stdout
    return out.strip().splitlines()[-1]


def _container_argv(name: str, mounts: list[Path], env_names: list[str], argv: list[str],
                    network: str = "host") -> list[str]:
    """`podman run` of argv in the release's Orthanc image. The environment is passed by name
    (podman copies the values from its own): a secret never appears in a command line."""
    cmd = ["podman", "run", "--rm", "--name", name, "--network", network, "--stop-signal", "TERM",
           "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=30000:30000"]
    for m in mounts:
        cmd += ["-v", f"{m}:{m}"]
    for e in env_names:
        cmd += ["-e", e]
    return [*cmd, orthanc_image(RELEASE), *argv]


class OrthancServer:
    def __init__(self, state_dir: Path, name: str, extra: dict[str, Any],
                 python_script: Optional[Path] = None, env: Optional[dict[str, str]] = None,
                 credentials: Optional[tuple[str, str]] = None, port: Optional[int] = None,
                 netns: Optional[Namespace] = None) -> None:
        self.name = name
        # In a namespace of its own, Orthanc is reached at the namespace's address (and needs
        # RemoteAccessAllowed for that).
        self.host = netns.inner_addr if netns else "127.0.0.1"
        self.dir = Path(state_dir) / f"orthanc-{name}"
        self.port = port or free_port()
        self.credentials = credentials
        self.extra = extra
        self.python_script = python_script
        cfg = self.dir / "orthanc.json"
        self.config_file = cfg
        argv = [ORTHANC, "--verbose", str(cfg)]
        self.container: Optional[str] = None
        if RELEASE != HOST_RELEASE:
            self.container = f"dwo-orthanc-{name}-{self.port}"
            mounts = sorted({ROOT, Path(state_dir).resolve(), Path("/tmp")})
            argv = _container_argv(self.container, mounts, sorted(env or {}), argv,
                                   f"ns:{netns.path}" if netns else "host")
        elif netns:
            argv = netns.argv(argv)
        self.process = ManagedProcess("orthanc", self.dir, argv, ready=self._ready,
                                      env={**os.environ, **(env or {})})

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def source(cls, state_dir: Path, name: str, oauth_section: Optional[dict[str, Any]],
               env: Optional[dict[str, str]] = None, extra: Optional[dict[str, Any]] = None,
               credentials: Optional[tuple[str, str]] = None, netns: Optional[Namespace] = None) -> OrthancServer:
        cfg: dict[str, Any] = dict(extra or {})
        if oauth_section is not None:
            cfg["DicomWebOAuth"] = oauth_section
        return cls(state_dir, name, cfg, PLUGIN_SCRIPT, env, credentials, netns=netns)

    @classmethod
    def target(cls, state_dir: Path, name: str, jwks_uri: str, audience: str, issuer: str) -> OrthancServer:
        d = Path(state_dir) / f"orthanc-{name}"
        cfg = {"TestJwtFilter": {"JwksUri": jwks_uri, "Audience": audience, "Issuer": issuer,
                                 "LogFile": str(d / "access.jsonl")}}
        return cls(state_dir, name, cfg, FILTER_SCRIPT)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.dir / "access.jsonl"

    def write_config(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        storage = self.dir / "db"
        cfg: dict[str, Any] = {
            "Name": self.name,
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "HttpPort": self.port,
            "DicomServerEnabled": False,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": self.credentials is not None,
            "HttpTimeout": 60,
            "Plugins": [f"{PLUGINS_DIR}/libOrthancDicomWeb.so", f"{PLUGINS_DIR}/libOrthancPython.so"],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        }
        if self.credentials:
            cfg["RegisteredUsers"] = {self.credentials[0]: self.credentials[1]}
        if self.python_script:
            cfg["PythonScript"] = str(self.python_script)
        for k, v in self.extra.items():
            if k == "DicomWeb":
                cfg["DicomWeb"] = {**cfg["DicomWeb"], **v}
            else:
                cfg[k] = v
        self.config_file.write_text(json.dumps(cfg, indent=2))
        self.config_file.chmod(0o600)

    # -- lifecycle --------------------------------------------------------------------------------
    def _ready(self) -> bool:
        try:
            self.get("/system")
            return True
        except (OSError, urllib.error.HTTPError):
            return False

    def start(self) -> OrthancServer:
        self.write_config()
        self.process.start(timeout=60 if self.container else 30)
        return self

    def stop(self) -> None:
        self.process.stop()
        if self.container:  # gone with its process unless that had to be killed
            subprocess.run(["podman", "rm", "--force", "--ignore", "--time", "0", self.container],
                           capture_output=True, timeout=60)

    def running(self) -> bool:
        return self.process.running()

    def log(self) -> str:
        return self.process.log_file.read_text(errors="replace") if self.process.log_file.exists() else ""

    # -- HTTP -------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, auth: bool = True,
                headers: Optional[dict[str, str]] = None, timeout: float = 120) -> tuple[int, dict[str, str], bytes]:
        data: Optional[bytes]
        if body is None:
            data = None
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=dict(headers or {}))
        if auth and self.credentials:
            token = base64.b64encode(f"{self.credentials[0]}:{self.credentials[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get(self, path: str, **kw: Any) -> Any:
        status, _, body = self.request("GET", path, **kw)
        if status != 200:
            raise urllib.error.HTTPError(self.url + path, status, body.decode(errors="replace")[:300], None,  # type: ignore[arg-type]
                                         None)
        return json.loads(body) if body[:1] in (b"{", b"[") else body

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        status, _, data = self.request("POST", path, body, **kw)
        if status != 200:
            raise urllib.error.HTTPError(self.url + path, status, data.decode(errors="replace")[:300], None,  # type: ignore[arg-type]
                                         None)
        return json.loads(data) if data[:1] in (b"{", b"[") else data

    def upload(self, dicom: bytes) -> str:
        return str(self.post("/instances", dicom)["ID"])

    def access_entries(self) -> list[dict[str, Any]]:
        if not self.access_log.exists():
            return []
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line.strip()]

    def received_tokens(self) -> set[str]:
        """Target only: the raw bearer tokens it received (test-only record, mode 0600)."""
        path = Path(str(self.access_log) + ".tokens")
        return set(path.read_text().split()) if path.exists() else set()
