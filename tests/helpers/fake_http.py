"""A tiny loopback HTTP server for the cloud endpoints the real OpenID provider cannot play
(Azure's and Google's metadata services, Google's JWT-bearer token endpoint). It records every
request; the test's handler checks the request exactly and decides the answer."""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

from testenv.tls import self_signed


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)


# (status, JSON answer) or (status, JSON answer, extra headers); a 304 is sent without a body.
Handler = Callable[[Request], tuple[Any, ...]]


class FakeServer:
    def __init__(self, handler: Handler, tls_dir: Optional[Path] = None) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.failures: list[AssertionError] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                req = Request(self.command, parts.path, parse_qs(parts.query),
                              {k.lower(): v for k, v in self.headers.items()}, parse_qs(body))
                outer.requests.append(req)
                try:
                    status, answer, *more = outer.handler(req)
                except AssertionError as e:  # reported again by __exit__ in the test's thread
                    outer.failures.append(e)
                    status, answer, more = 400, {"error": "invalid_request", "error_description": "check failed"}, []
                data = b"" if status == 304 else json.dumps(answer).encode()
                self.send_response(status)
                for name, value in (more[0] if more else {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.scheme = "http"
        self.ca_file: Optional[str] = None
        if tls_dir is not None:
            cert, key = self_signed(Path(tls_dir), "fake")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme, self.ca_file = "https", cert
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.failures:
            raise self.failures[0]
