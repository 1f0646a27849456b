"""The inline allowance is the documented 262,144 bytes exactly: base64's padding once let 1
or 2 bytes more through."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from as2bus.contracts import MAX_INLINE_BYTES, SendAttachment, SendRequest


def inline(size: int) -> str:
    return base64.b64encode(b"x" * size).decode()


def request(document: str, *attached: str) -> SendRequest:
    return SendRequest(
        request_id="r",
        station="A",
        partner="B",
        inline_base64=document,
        attachments=[SendAttachment(inline_base64=a) for a in attached],
    )


def test_one_document_up_to_the_limit_goes_inline_and_not_a_byte_more() -> None:
    assert MAX_INLINE_BYTES == 262_144
    request(inline(MAX_INLINE_BYTES))
    for over in (1, 2, 3):
        with pytest.raises(ValidationError, match="limited to 262144 bytes;"):
            request(inline(MAX_INLINE_BYTES + over))


def test_documents_together_up_to_the_limit_go_inline_and_not_a_byte_more() -> None:
    half = MAX_INLINE_BYTES // 2  # 131,072: base64 pads it, as it pads the limit itself
    request(inline(half), inline(half))
    with pytest.raises(ValidationError, match="limited to 262144 bytes together"):
        request(inline(half), inline(half + 1))
    with pytest.raises(ValidationError, match="limited to 262144 bytes together"):
        request(inline(half), inline(half - 1), inline(2))  # one byte over, in three
