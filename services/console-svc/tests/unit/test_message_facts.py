"""Facts a message's page states beside its status: whether our MDN for a partner's message
was signed, and whether the partner's MDN we offer for download is."""

from __future__ import annotations

import html
from typing import Any

import pytest

from .conftest import client, fakes_of, sign_in
from .test_message_page import T, delivered


def received(signed: bool, asked: str) -> dict[str, Any]:
    """A partner's message we answered with a sync MDN, ``signed`` or not; ``asked``: the MDN
    signature the partner asked for."""
    mdn_sent = {"event_type": "MdnSent", "occurred_at": T, "summary": "",
                "data": {"mode": "sync", "disposition": "processed", "signed": signed,
                         "delivered": True, "attempts": 1}}  # fmt: skip
    return {
        "id": "i1", "direction": "inbound", "status": "mdn-sent", "attempts": 0,
        "document": None, "created_at": T, "received_at": T, "signature": "valid",
        "mdn_mode": "sync", "mdn_disposition": "processed", "mdn_modifier": None,
        "mdn_requested": "sync", "mdn_signature": asked, "mdn_delivered": True,
        "mdn_attempts": 1, "mdn_at": T, "timeline": [mdn_sent],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("signed", "asked", "said"),
    [
        (True, "required", "sync: processed, signed, sent to the partner"),
        (False, "none", "sync: processed, unsigned, sent to the partner"),
        (False, "required", "sync: processed, unsigned although the partner asked for a "
         "signed one, sent to the partner"),
    ],
)  # fmt: skip
async def test_our_mdn_says_whether_it_was_signed(
    app: Any, signed: bool, asked: str, said: str
) -> None:
    fakes_of(app).backends.tracklog.details["i1"] = received(signed, asked)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = html.unescape(" ".join((await http.get("/tracklog/i1")).text.split()))
    assert f'<dt>Our MDN</dt><dd class="mdn-sent">{said}</dd>' in page


@pytest.mark.parametrize(("signature", "receipt"), [("valid", "signed"), ("unsigned", "unsigned")])
async def test_the_mdn_download_says_whether_the_receipt_is_signed(
    app: Any, signature: str, receipt: str
) -> None:
    fakes = fakes_of(app)
    fakes.backends.tracklog.details["m1"] = delivered(fakes.documents) | {"signature": signature}
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = html.unescape(" ".join((await http.get("/tracklog/m1")).text.split()))
    assert f"(headers and body, byte for byte: the partner's {receipt} receipt)" in page
