"""Key material for inbound-svc and outbound-svc: asked of cert-svc, cached until a change.

The cache is dropped whenever a certificate event is seen (``as2.evt.cert.>``), so a rotation
takes effect on the next message without polling; the time-based switchover itself needs no
event at all, because the key ring decides by ``activation_at``/``retirement_at``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from as2bus.contracts.certs import (
    KEY_MATERIAL_SUBJECT,
    KeyMaterialEntry,
    KeyMaterialReply,
    KeyMaterialRequest,
)
from as2bus.shared.crypto import SecretBox
from as2bus.shared.keyring import KeyRing

CERT_EVENTS = "as2.evt.cert.>"
FRESH_INTERVAL_SECONDS = 1.0


def key_context(entry: KeyMaterialEntry) -> str:
    """The associated data a private key is sealed with (in cert-svc's database and in replies)."""
    return f"certificate:{entry.id}:key"


class KeyMaterialClient:
    def __init__(self, client: Client, box: SecretBox, *, timeout: float = 5.0) -> None:
        self._client = client
        self._box = box
        self._timeout = timeout
        self._ring: KeyRing | None = None
        self._generation = 0
        self._lock = asyncio.Lock()
        self._subscription: Any = None
        self._fresh_at = -FRESH_INTERVAL_SECONDS

    async def start(self) -> None:
        self._subscription = await self._client.subscribe(CERT_EVENTS, cb=self._invalidate)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()

    async def _invalidate(self, _msg: Msg) -> None:
        self._generation += 1
        self._ring = None

    async def keyring(self, *, fresh: bool = False) -> KeyRing:
        """The key ring, cached until a certificate event. ``fresh`` asks cert-svc again, for
        a certificate that is missing: stored a moment ago, its event may still be on its way
        (at most once a second, so a certificate that is really missing costs little)."""
        async with self._lock:
            now = time.monotonic()
            if fresh and now - self._fresh_at >= FRESH_INTERVAL_SECONDS:
                self._fresh_at = now
                self._ring = None
            if self._ring is None:
                generation = self._generation
                request = KeyMaterialRequest().model_dump_json().encode()
                reply = await self._client.request(KEY_MATERIAL_SUBJECT, request, self._timeout)
                material = KeyMaterialReply.model_validate_json(reply.data)
                ring = KeyRing(material.entries, material.partnership_keys)
                if generation != self._generation:
                    return ring  # changed while we asked: use it once, do not cache it
                self._ring = ring
            return self._ring

    def private_key_pem(self, entry: KeyMaterialEntry) -> bytes:
        if entry.sealed_key is None:
            raise ValueError(f"certificate {entry.alias} ({entry.kind}) has no private key")
        return self._box.open(entry.sealed_key, key_context(entry))
