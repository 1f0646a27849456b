"""Webhook channel: the notice POSTed as JSON, signed so the receiver knows it is ours.

Headers: ``X-As2bus-Timestamp`` (Unix seconds), ``X-As2bus-Signature: sha256=<hex>``, the
HMAC-SHA256 under the channel's secret of ``<timestamp>.<body>`` (the timestamp signed too,
so a recorded request cannot be replayed later), and ``X-As2bus-Notification-Id`` (the same
for every attempt of one notice: a receiver that got it twice can drop the second).
docs/operations.md shows how to verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from as2bus.notify.ports import Channel, DeliveryError

SIGNATURE_HEADER = "X-As2bus-Signature"
TIMESTAMP_HEADER = "X-As2bus-Timestamp"
ID_HEADER = "X-As2bus-Notification-Id"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class WebhookSender:
    def __init__(self, client: httpx.AsyncClient, *, clock: Any = time.time) -> None:
        self._client = client
        self._clock = clock

    async def send(self, channel: Channel, payload: dict[str, Any]) -> None:
        url = str(channel.target["url"])
        where = urlsplit(url).netloc  # never the path or query: they may hold a token
        secret = channel.secrets.get("secret")
        if not secret:
            raise DeliveryError("the webhook has no secret to sign with; set one in config-svc")
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            ID_HEADER: str(payload.get("id", "")),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryError(f"the webhook at {where} did not answer in time") from None
        except httpx.HTTPError as err:
            raise DeliveryError(
                f"cannot reach the webhook at {where}: {type(err).__name__}"
            ) from None
        if not response.is_success:
            raise DeliveryError(f"the webhook at {where} answered HTTP {response.status_code}")
