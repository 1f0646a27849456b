"""A refused send request the publisher can match and read: the request id echoed only when
it is a valid one (a shortened id could be another request's), else the Nats-Msg-Id it was
published with; reasons in the guide's words, not pydantic's."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from as2bus.contracts import MessageRejected

from .world import outbound

DOCUMENT = {"inline_base64": base64.b64encode(b"ISA*00~").decode()}
REQUEST = {"station": "MYCO", "partner": "ACME", **DOCUMENT}


async def refusal(raw: bytes, msg_id: str | None) -> Any:
    world = outbound()
    assert await world.acceptor.accept_raw(raw, msg_id) == "rejected"
    (refused,) = world.store.of_type(MessageRejected)
    return refused.data


LONG = "r" * 201


@pytest.mark.parametrize(
    ("body", "published_as", "reason"),
    [
        ({**REQUEST, "request_id": LONG}, LONG, "request_id: at most 200 characters, not 201"),
        ({**REQUEST, "request_id": 12345}, "12345", "request_id: must be a string"),
        ({**REQUEST, "request_id": ""}, "po-3", "request_id: must not be empty"),
        ([1, 2], "po-4", "a send request is a JSON object"),
    ],
)
async def test_a_body_without_a_valid_request_id_is_matched_by_its_nats_msg_id(
    body: Any, published_as: str, reason: str
) -> None:
    refused = await refusal(json.dumps(body).encode(), published_as)
    assert (refused.request_id, refused.nats_msg_id) == (None, published_as)
    assert refused.reason == reason


async def test_a_valid_request_id_is_echoed_itself_and_the_nats_msg_id_not_again() -> None:
    refused = await refusal(json.dumps({**REQUEST, "request_id": "po-1", "x": 1}).encode(), "po-1")
    assert (refused.request_id, refused.nats_msg_id, refused.reason) == (
        "po-1", None, "unknown field x"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"attachments": [DOCUMENT] * 20}, "attachments: a message holds at most 20 documents, "
         "the first and 19 attachments; this request has 21"),
        ({"overrides": {"signing": "none"}}, "overrides.signing: must be 'sha1', 'sha224', "
         "'sha256', 'sha384' or 'sha512'"),
        ({"overrides": [1]}, "overrides: must be a JSON object"),
        ({"document": {"bucket": "as2_documents", "name": "n", "size": "big", "sha256": "0" * 64},
          "inline_base64": None}, "document.size: must be a whole number"),
    ],
)  # fmt: skip
async def test_reasons_are_in_the_guides_words(fields: dict[str, Any], reason: str) -> None:
    body = {**REQUEST, "request_id": "po-2", **fields}
    assert (await refusal(json.dumps(body).encode(), "po-2")).reason == reason
