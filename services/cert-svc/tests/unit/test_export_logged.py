"""A private key exported through the API (keystore.p12) leaves a line in cert-svc's log: which
keystore, and who took it (the API token, and the person the console names)."""

from __future__ import annotations

import logging
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from as2bus.cert.entrypoints.api import export_keystore
from as2bus.shared.audit import describe_actor, set_actor

KEYSTORE = uuid.UUID("5b0c3f3e-3a52-4c57-9d43-0a4f8e3c1d01")


class OneKeystore:
    """Keystores' two reads the route makes."""

    async def get(self, keystore_id: uuid.UUID) -> Any:
        return SimpleNamespace(station_as2_id="MYCO", partner_as2_id="ACME")

    async def export_keystore(self, keystore_id: uuid.UUID) -> bytes:
        return b"\x30\x82p12"


async def test_a_keystore_export_is_logged_with_its_token(caplog: pytest.LogCaptureFixture) -> None:
    set_actor(describe_actor("1a2b3c4d", "admin", "ann@example.com"))
    try:
        with caplog.at_level(logging.INFO, logger="as2bus.cert"):
            answer = await export_keystore(KEYSTORE, OneKeystore())  # type: ignore[arg-type]
    finally:
        set_actor(None)
    assert answer.body == b"\x30\x82p12"
    assert caplog.messages == [
        f"private key exported: keystore {KEYSTORE} (MYCO → ACME) by ann@example.com via API "
        "token 1a2b3c4d"
    ]
