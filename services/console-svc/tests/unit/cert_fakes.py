"""Fakes of cert-svc, config-svc, tracklog-svc and the sender for the certificate pages'
tests, recording what they are asked, and cert-svc's views of keystores and certificates.
Subclasses of the adapters they stand in for, as in conftest.py; ``cert_fakes_of`` gives a
test those an app holds."""

from __future__ import annotations

import functools
import html
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from as2bus.console.adapters.backends import Backend, Backends, Change, File
from as2bus.console.adapters.sending import Sender
from as2bus.console.domain.roles import Role
from as2bus.console.wiring import wiring

KEYSTORE = "5b0c3f3e-3a52-4c57-9d43-0a4f8e3c1d01"
NEW_KEYSTORE = "0d7c8c9e-8a83-4b55-a1b6-2f4e1a9c7b02"
NOW = datetime.now(UTC)


def certificate_view(alias: str, kind: str, days_left: int, **fields: Any) -> dict[str, Any]:
    """A certificate as cert-svc's API shows it."""
    not_after = (NOW + timedelta(days=days_left, hours=1)).isoformat()
    return {
        "id": str(uuid.uuid4()),
        "alias": alias,
        "kind": kind,
        "subject": f"CN={alias}",
        "fingerprint_sha256": ":".join([f"{len(alias):02X}"] * 32),
        "not_after": not_after,
        "activation_at": (NOW - timedelta(days=30)).isoformat(),
        "retirement_at": None,
        "state": "active" if days_left >= 0 else "expired",
        "days_left": days_left,
        **fields,
    }


def keystore_view(own_days: int = 400, partner_days: int = 400) -> dict[str, Any]:
    return {
        "id": KEYSTORE,
        "station_as2_id": "MYCO",
        "partner_as2_id": "ACME",
        "private_key_alias": "myco",
        "partner_cert_alias": "acme",
        "created_at": NOW.isoformat(),
        "own_certificates": [certificate_view("myco", "own", own_days)],
        "partner_certificates": [certificate_view("acme", "partner", partner_days)],
    }


class FakeCert(Backend):
    """cert-svc: keystores and certificates a test puts in; records every change and answers
    with what a test sets for its path (default: done)."""

    name = "cert-svc"

    def __init__(self) -> None:
        self.keystores: dict[str, dict[str, Any]] = {}
        self.certificates: list[dict[str, Any]] = []
        self.files: dict[str, File] = {}
        self.changes: list[tuple[str, str, str, dict[str, Any]]] = []
        self.answers: dict[str, Change] = {}

    async def get(self, path: str, params: Any = None) -> Any:
        if path == "/api/v1/keystores":
            return list(self.keystores.values())
        if path.startswith("/api/v1/keystores/"):
            return self.keystores.get(path.rsplit("/", 1)[1])
        if path == "/api/v1/certificates":
            wanted = params or {}  # none: every certificate
            return [c for c in self.certificates if all(c[k] == v for k, v in wanted.items())]
        raise AssertionError(f"unexpected GET {path}")

    async def change(self, method: str, path: str, *, actor: str, **kwargs: Any) -> Change:
        self.changes.append((method, path, actor, kwargs))
        default = Change(201, {"id": NEW_KEYSTORE, "warnings": []})
        return self.answers.get(path, default)

    async def file(self, path: str) -> File | None:
        return self.files.get(path)


class FakeConfig(Backend):
    name = "config-svc"

    def __init__(self) -> None:
        self.stations = [
            {"as2_id": "MYCO", "private_key_alias": "myco"},
            {"as2_id": "OTHER", "private_key_alias": "other"},
        ]
        self.partners = [
            {"as2_id": "ACME", "as2_alias": "acme", "enabled": True},
            {"as2_id": "BETA", "as2_alias": "beta", "enabled": True},
        ]
        self.partnerships = [
            {"id": "p1", "station_as2_id": "MYCO", "partner_as2_id": "ACME", "partner_id": "a"},
            {"id": "p2", "station_as2_id": "MYCO", "partner_as2_id": "BETA", "partner_id": "b"},
        ]

    async def get(self, path: str, params: Any = None) -> Any:
        return {
            "/api/v1/stations": self.stations,
            "/api/v1/partners": self.partners,
            "/api/v1/partnerships": self.partnerships,
        }[path]


class FakeTracklog(Backend):
    name = "tracklog-svc"

    def __init__(self) -> None:
        self.details: dict[str, dict[str, Any]] = {}
        self.asked: list[tuple[str, Any]] = []

    async def get(self, path: str, params: Any = None) -> Any:
        self.asked.append((path, params))
        if path == "/api/v1/messages":
            return {"items": [{"id": ref} for ref in self.details], "next_cursor": None}
        return self.details.get(path.rsplit("/", 1)[1])


class FakeBackends(Backends):
    """cert-svc, config-svc and tracklog-svc (no outbound-svc)."""

    cert: FakeCert
    config: FakeConfig
    tracklog: FakeTracklog

    def __init__(self) -> None:
        self.cert = FakeCert()
        self.config = FakeConfig()
        self.tracklog = FakeTracklog()

    async def enabled_partnerships(self) -> list[dict[str, Any]]:
        return self.config.partnerships


class FakeSender(Sender):
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, int, dict[str, Any]]] = []

    async def send_file(self, file: BinaryIO, size: int, **fields: Any) -> str:
        self.sent.append((file.read(), size, fields))
        return "console-req-9"


@dataclass(frozen=True)
class CertFakes:
    """The parts ``install_fakes`` wires in."""

    sender: FakeSender
    backends: FakeBackends


def cert_fakes_of(app: Any) -> CertFakes:
    """The fakes an app from ``install_fakes`` holds now."""
    parts = wiring.of(app)
    assert isinstance(parts.sender, FakeSender)
    assert isinstance(parts.backends, FakeBackends)
    return CertFakes(parts.sender, parts.backends)


async def install_fakes(app: Any) -> Any:
    """conftest.py's app with these fakes, and an operator besides its admin and viewer."""
    fakes = wiring.replace(app, backends=FakeBackends(), sender=FakeSender())
    await fakes.accounts.create_user("operator@example.com", Role.OPERATOR, "correct horse battery")
    return app


@functools.cache
def partner_pem(days: int = 365) -> bytes:
    """A partner's self-signed RSA certificate, valid from yesterday."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ACME AS2")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def text_of(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))
