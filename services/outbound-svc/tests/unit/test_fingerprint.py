"""A request's fingerprint (idempotency): attachments count, and requests accepted before
attachments existed keep the fingerprint they were stored with."""

from __future__ import annotations

from typing import Any

import pytest

from as2bus.contracts import SendRequest
from as2bus.outbound.accept import fingerprint

REF = {"bucket": "as2_documents", "name": "out/ä", "size": 3, "sha256": "a" * 64}
BASE: dict[str, Any] = {"request_id": "r", "station": "MYCO", "partner": "acme"}


@pytest.mark.parametrize(
    ("fields", "stored"),
    [
        (
            {"request_id": "r1", "station": "MYCO", "partner": "acme",
             "inline_base64": "SGVsbG8="},
            "1f2ef7413001838acafec2dec2d7a718451428201b17fca1685b1f355e5a4861",
        ),
        (
            {"request_id": "r2", "station": "MYCO", "partner": "acme", "document": REF,
             "filename": "ünï €.edi", "content_type": "text/plain",
             "subject": 'Sübject "q" </>', "replays": "<x@y>",
             "overrides": {"signing": "sha384", "mdn_mode": "async", "encryption": None}},
            "f537fd4f4ef0f6306a0f4382b213f1077b9c50d2d2f87b7525f8c9f199c835d6",
        ),
    ],
    ids=["inline", "every-field"],
)  # fmt: skip
def test_a_request_from_before_attachments_keeps_its_stored_fingerprint(
    fields: dict[str, Any], stored: str
) -> None:
    """``stored``: SHA-256 of ``model_dump_json()`` of the SendRequest as it was before the
    attachments (commit deaa433~1), what rows accepted then hold in request_sha256. The
    first has no subject, which then meant "AS2 Message" and now the partner's default:
    fingerprinted as before all the same."""
    assert fingerprint(SendRequest.model_validate(fields)) == stored


def test_attachments_their_content_and_order_are_part_of_the_request() -> None:
    def request(*attachments: dict[str, Any]) -> SendRequest:
        return SendRequest.model_validate(
            {**BASE, "inline_base64": "QQ==", "attachments": list(attachments)}
        )

    b = {"inline_base64": "Qg==", "filename": "b.edi"}
    c = {"document": REF, "content_type": "application/pdf"}
    prints = [
        fingerprint(request()),
        fingerprint(request(b)),
        fingerprint(request(b, c)),
        fingerprint(request(c, b)),
        fingerprint(request(b, {**c, "filename": "c.pdf"})),
        fingerprint(request({**b, "inline_base64": "Qw=="}, c)),
    ]
    assert len(set(prints)) == len(prints)
    # The same content however it is spelt is the same request.
    spelt = {**b, "content_type": "application/edi-x12", "document": None}
    assert fingerprint(request(spelt, c)) == fingerprint(request(b, c))
