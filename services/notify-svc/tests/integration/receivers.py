"""The other ends of the channels, real servers run by the tests: an SMTP server that insists
on STARTTLS and a login (aiosmtpd, with a certificate of the shared test CA), and an HTTP
server that records every POST (the webhook receiver)."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from as2bus.testing.infra import free_port
from as2bus.testing.tls import PrivateCa, server_context


@dataclass
class Mail:
    message: EmailMessage
    recipients: list[str]
    over_tls: bool
    login: str | None


@dataclass
class SmtpServer:
    """STARTTLS required before anything else, AUTH required (over TLS only)."""

    ca: PrivateCa
    username: str
    password: str
    mails: list[Mail] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = free_port()
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port,
            tls_context=server_context(self.ca.issue(host="127.0.0.1")),
            require_starttls=True, auth_required=True, auth_require_tls=True,
            authenticator=self._authenticate,
        )  # fmt: skip

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            self.username.encode(), self.password.encode(),
        )  # fmt: skip
        return AuthResult(success=ok, auth_data=data.login if ok else None)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        self.mails.append(Mail(parsed, list(envelope.rcpt_tos), session.ssl is not None, login))
        return "250 OK"


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it came in


class WebhookReceiver:
    """Answers every POST with ``status`` (200 unless changed) and keeps it."""

    def __init__(self) -> None:
        self.hooks: list[Hook] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.status == 200:
                    receiver.hooks.append(Hook(self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/as2bus"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
