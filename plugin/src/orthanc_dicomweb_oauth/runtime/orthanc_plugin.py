"""The plugin inside Orthanc.

For each configured server, the plugin defines Orthanc's DICOMweb server at run time
(``PUT /dicom-web/servers/{name}``) with the real URL and an ``Authorization: Bearer`` header,
first when Orthanc has started, then after every refresh. Orthanc's own C++ DICOMweb client
then sends the token on STOW, QIDO, WADO and retrieve: no proxy in the data path. When no
valid token is left (identity provider down past expiry), the definition is withdrawn so that
no request leaves with an expired token, and put back with the next token.

``orthanc`` (the module Orthanc injects) is passed in, so this file never imports it."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable, Optional

from ..loader.config import ConfigRefused, PluginConfig, log_warnings
from ..loader.errors import OAuthPluginError
from ..loader.orthanc_settings import judge
from ..loader.redaction import get_logger, install_handler, kv
from .metrics import Metrics
from .providers.base import Token
from .rest_api import Response, RestApi
from .token_manager import TokenManager, build_managers, usable_until

_log = get_logger()
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
WATCH_INTERVAL = 0.5
EXPLAIN_EVERY = 30.0  # seconds between two log lines about the same unavailable server


class OrthancLogHandler(logging.Handler):
    """Forwards the package's (already redacted) records to Orthanc's log."""

    def __init__(self, api: Any) -> None:
        super().__init__()
        self.api = api

    def emit(self, record: logging.LogRecord) -> None:
        msg = f"dicomweb-oauth: {record.getMessage()}"
        try:
            if record.levelno >= logging.ERROR:
                self.api.LogError(msg)
            elif record.levelno >= logging.WARNING:
                self.api.LogWarning(msg)
            else:
                self.api.LogInfo(msg)
        except Exception:  # logging must never raise into the plugin
            self.handleError(record)


class PluginRuntime:
    """Everything the plugin holds while Orthanc runs."""

    def __init__(self, api: Any, full_config: dict[str, Any],
                 manager_factory: Callable[[PluginConfig, Metrics], dict[str, TokenManager]] = build_managers
                 ) -> None:
        self.api = api
        self.started_at = time.time()
        self.metrics = Metrics()
        self.config: Optional[PluginConfig] = None
        self.error: Optional[OAuthPluginError] = None
        self.managers: dict[str, TokenManager] = {}
        self._published: dict[str, bool] = {}
        self._publish_lock = threading.Lock()
        self._stop = threading.Event()
        self._started = threading.Event()
        self._watchdog: Optional[threading.Thread] = None
        self._explained: dict[str, float] = {}
        self.errors: list[OAuthPluginError] = []
        self.callbacks: list[Callable[..., None]] = []  # what Orthanc calls back; see register()
        try:
            config, errors = judge(full_config)
            if config is None:
                raise ConfigRefused(errors)
            self.config = config
            log_warnings(config)
            _log.setLevel(_LEVELS[config.log_level])
            self.managers = manager_factory(self.config, self.metrics)
        except OAuthPluginError as e:
            self._refuse(e)
        for name, m in self.managers.items():
            m.add_listener(self._publisher(name))
        self.rest = RestApi(self)

    def _refuse(self, e: OAuthPluginError) -> None:
        self.error = e
        self.errors = list(getattr(e, "errors", [e]))
        self.managers = {}
        for err in self.errors:
            _log.error(kv("config.refused", code=err.code, error=err.message, fix=" ".join(err.spec.troubleshooting)))
        _log.error(kv("plugin.inactive", code="INT-006",
                      error="no DICOMweb server is defined by the plugin; Orthanc keeps serving"))

    # ------------------------------------------------------------------ status
    def require_active(self) -> None:
        if self.error is not None:
            raise OAuthPluginError("INT-006", f"configuration refused ({self.error.code}): "
                                   f"{self.error.detail}", key=self.error.key)

    def is_published(self, name: str) -> bool:
        return self._published.get(name, False)

    def overall_status(self) -> str:
        if self.error is not None:
            return "error"
        if all(self.is_published(n) for n in self.managers):
            return "ok"
        return "degraded"

    def server_status(self, name: str) -> dict[str, Any]:
        return {**self.managers[name].status(), "published": self.is_published(name)}

    # ------------------------------------------------------------------ Orthanc's DICOMweb servers
    def definition(self, m: TokenManager, token: Token) -> dict[str, Any]:
        pass_through = dict(m.server.dicomweb)
        headers = dict(pass_through.pop("HttpHeaders", {}))
        headers["Authorization"] = f"Bearer {token.value}"
        # Orthanc replaces the whole definition on PUT: send every field every time.
        return {"Url": m.server.url, "HttpHeaders": headers, **pass_through}

    def _publisher(self, name: str) -> Callable[[Token], None]:
        def publish(token: Token) -> None:
            if self._stop.is_set() or not self._started.is_set():
                return
            m = self.managers[name]
            body = json.dumps(self.definition(m, token))
            with self._publish_lock:
                try:
                    self.api.RestApiPutAfterPlugins(f"/dicom-web/servers/{name}", body)
                except Exception as e:
                    err = OAuthPluginError("INT-005", f"PUT /dicom-web/servers/{name} failed: "
                                           f"{type(e).__name__}", server=name)
                    self.metrics.errors.labels(name, err.code).inc()
                    _log.error(kv("dicomweb.define_failed", server=name, code=err.code, error=str(e)[:200]))
                    return
                self._published[name] = True
            self.metrics.header_updates.labels(name).inc()
            _log.info(kv("dicomweb.defined", server=name, expires_in_s=round(token.expires_at - time.time())))
        return publish

    def _withdraw(self, name: str) -> None:
        with self._publish_lock:
            if not self._published.get(name):
                return
            try:
                self.api.RestApiDeleteAfterPlugins(f"/dicom-web/servers/{name}")
            except Exception as e:
                _log.error(kv("dicomweb.withdraw_failed", server=name, code="INT-005", error=type(e).__name__))
            self._published[name] = False
        m = self.managers[name]
        _log.error(kv("dicomweb.withdrawn", server=name, code=m.last_result or "TOK-001",
                      reason="no valid token; the server is defined again with the next token",
                      last_error=m.last_error))

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL):
            now = time.time()
            for name, m in self.managers.items():
                tok = m.current()
                if self._published.get(name) and (tok is None or now >= usable_until(tok)):
                    self._withdraw(name)
                if not self._published.get(name):
                    self._explain_unavailable(name)

    # ------------------------------------------------------------------ while unavailable
    def _explain_unavailable(self, name: str) -> None:
        """While a server has no valid token, say so in Orthanc's log every EXPLAIN_EVERY
        seconds, with the reason: the calls that fail meanwhile get only Orthanc's own answer
        ("Inexistent server"). A request filter could answer them itself, but it would put a
        Python call on every request Orthanc serves, and orthanc-python 4.0 answers 500 to any
        URI that is not UTF-8 once a filter is registered (measured)."""
        now = time.monotonic()
        if now - self._explained.get(name, -EXPLAIN_EVERY) < EXPLAIN_EVERY:
            return
        self._explained[name] = now
        m = self.managers[name]
        _log.error(kv("dicomweb.unavailable", server=name, code=m.last_result or "TOK-001",
                      reason=m.last_error or "no token yet",
                      effect="DICOMweb calls through it fail (Orthanc: Inexistent server) until a token is had"))

    # ------------------------------------------------------------------ lifecycle
    def on_started(self) -> None:
        self._started.set()
        for m in self.managers.values():
            m.start()
            tok = m.current()
            if tok is not None:  # obtained before Orthanc was ready
                self._publisher(m.server.name)(tok)
        if self.managers:
            self._watchdog = threading.Thread(target=self._watch, name="oauth-watchdog", daemon=True)
            self._watchdog.start()
        _log.info(kv("plugin.started", servers=",".join(sorted(self.managers)) or "-",
                     status=self.overall_status()))

    def on_stopped(self) -> None:
        self._stop.set()
        for m in self.managers.values():
            m.stop()
        if self._watchdog is not None:
            self._watchdog.join(2)


def _answer(output: Any, r: Response) -> None:
    for k, v in r.headers.items():
        output.SetHttpHeader(k, v)
    if r.status == 200:
        output.AnswerBuffer(r.body, r.content_type)
    elif r.status == 405 and r.allowed:
        # Orthanc refuses a body on 405 ("use the dedicated method"): the Allow header says it.
        output.SendMethodNotAllowed(r.allowed)
    else:
        output.SetHttpHeader("Content-Type", r.content_type)
        _send_status(output, r.status, r.body)


# How this orthanc-python binds SendHttpStatus, learnt on the first error answer. No form is
# accepted by both releases we support (measured): 4.0 (Debian 12) parses (status, str, length),
# 4.2 and later (Debian 13 has 5.0) parse (status, body). Each refuses the other form with a
# TypeError while parsing its arguments, before anything is sent, so trying is safe.
_status_with_length: Optional[bool] = None


def _send_status(output: Any, status: int, body: bytes) -> None:
    global _status_with_length
    text = body.decode("utf-8")
    if _status_with_length is None:
        try:
            output.SendHttpStatus(status, text)
            _status_with_length = False
            return
        except TypeError:
            _status_with_length = True
    if _status_with_length:
        output.SendHttpStatus(status, text, len(body))
    else:
        output.SendHttpStatus(status, text)


def register(orthanc: Any) -> PluginRuntime:
    """Called by the entry script with the ``orthanc`` module."""
    install_handler(OrthancLogHandler(orthanc), logging.INFO)
    full = json.loads(orthanc.GetConfiguration())
    runtime = PluginRuntime(orthanc, full)

    # orthanc-python 5.0 (Debian 13) keeps no reference of its own to a registered callback:
    # when the only one was the loop's variable, Orthanc segfaulted on every shutdown (exit 139,
    # measured; 4.0 does not). The runtime, which the entry script keeps, holds them all.
    for regex, allowed, handler in runtime.rest.routes():
        def callback(output: Any, uri: str, _a: str = allowed, _h: Any = handler, **req: Any) -> None:
            r = runtime.rest.dispatch(_a, _h, str(req.get("method", "")), tuple(req.get("groups") or ()))
            _answer(output, r)
        runtime.callbacks.append(callback)
        orthanc.RegisterRestCallback(regex, callback)

    def on_change(change_type: Any, level: Any, resource: Any) -> None:
        if change_type == orthanc.ChangeType.ORTHANC_STARTED:
            runtime.on_started()
        elif change_type == orthanc.ChangeType.ORTHANC_STOPPED:
            runtime.on_stopped()

    runtime.callbacks.append(on_change)
    orthanc.RegisterOnChangeCallback(on_change)
    return runtime
