"""The content type a document goes with when the sender names none (``as2bus send`` and the
console's Send File): its first bytes first, then its name, then application/octet-stream. And
what may be a content type at all: the send request refuses anything but a MIME type."""

from __future__ import annotations

import codecs

import pytest
from pydantic import ValidationError

from as2bus.contracts import SendRequest
from as2bus.contracts.content_types import (
    HEAD_BYTES,
    MIME_TYPE_PATTERN,
    guess_content_type,
    mime_type_problem,
)

X12 = b"ISA*00*          *00*          *ZZ*MYCO           *ZZ*ACME           *260101*1200*U*"
EDIFACT = b"UNA:+.? 'UNB+UNOC:3+MYCO:ZZ+ACME:ZZ+260101:1200+1'"
GUESSES = {
    "x12": ("po.edi", X12, "application/edi-x12"),
    "x12-other-separator": ("po", b"ISA|00|", "application/edi-x12"),
    "edifact-una": ("order.edi", EDIFACT, "application/edifact"),
    "edifact-unb": ("order.txt", b"UNB+UNOC:3+MYCO+ACME'", "application/edifact"),
    "xml-declaration": ("invoice", b'<?xml version="1.0"?><Invoice/>', "application/xml"),
    "xml-by-name": ("invoice.xml", b"<Invoice/>", "application/xml"),
    "xml-by-name-any-case": ("INVOICE.XML", b"<Invoice/>", "application/xml"),
    "pdf-by-name": ("drawing.pdf", b"%PDF-1.7", "application/pdf"),
    "csv-by-name": ("prices.csv", b"sku,price", "text/csv"),
    "compressed": ("prices.csv.gz", b"\x1f\x8b\x08", "application/gzip"),
    "unknown-extension": ("notes.zzz", b"hello", "application/octet-stream"),
    "no-extension": ("LICENSE", b"Apache License", "application/octet-stream"),
    "no-name": (None, b"hello", "application/octet-stream"),
    "empty": ("", b"", "application/octet-stream"),
}


@pytest.mark.parametrize(("name", "head", "expected"), GUESSES.values(), ids=GUESSES.keys())
def test_each_rule(name: str | None, head: bytes, expected: str) -> None:
    assert guess_content_type(name, head) == expected


@pytest.mark.parametrize(
    "before", [codecs.BOM_UTF8, b"\r\n\r\n", b"  \t", codecs.BOM_UTF8 + b"\n "]
)
def test_a_byte_order_mark_and_white_space_before_are_allowed(before: bytes) -> None:
    assert guess_content_type("a.dat", before + X12) == "application/edi-x12"
    assert guess_content_type("a.dat", before + EDIFACT) == "application/edifact"
    assert guess_content_type("a.dat", before + b"<?xml version='1.0'?>") == "application/xml"


def test_what_the_bytes_say_wins_over_the_name() -> None:
    """An EDIFACT interchange saved as .txt or .xml is still EDIFACT."""
    assert guess_content_type("order.txt", EDIFACT) == "application/edifact"
    assert guess_content_type("order.xml", EDIFACT) == "application/edifact"
    assert guess_content_type("po.pdf", X12) == "application/edi-x12"


def test_a_word_that_begins_like_a_segment_tag_is_not_edi() -> None:
    assert guess_content_type("a.txt", b"ISAAC NEWTON") == "text/plain"
    assert guess_content_type("a.txt", b"UNBOUND") == "text/plain"
    assert guess_content_type(None, b"ISA") == "application/octet-stream"  # no separator


def test_the_head_a_caller_reads_is_enough_for_a_page_of_blank_lines() -> None:
    head = (b"\n" * 500 + EDIFACT)[:HEAD_BYTES]
    assert guess_content_type(None, head) == "application/edifact"


MIME_TYPES = ["application/edi-x12", "application/EDIFACT", "text/plain; charset=utf-8",
              'multipart/related; type="application/xml"', "application/vnd.ms-excel",
              "application/xml;charset=utf-8"]  # fmt: skip
NOT_MIME_TYPES = ["not a type!!", "", "application", "application/", "/edi-x12",
                  "application/edi x12", "application/edi-x12 ", "application/edi-x12\r\nX-Evil: 1",
                  "text/plain; charset=utf-8\n", "text/plain; a=\x00", "a/b/c",
                  "application/(edi)"]  # fmt: skip


@pytest.mark.parametrize("value", MIME_TYPES)
def test_a_mime_type_may_be_sent(value: str) -> None:
    assert mime_type_problem(value) is None
    request = SendRequest(request_id="r", station="A", partner="B", inline_base64="",
                          content_type=value)  # fmt: skip
    assert request.content_type == value


@pytest.mark.parametrize("value", NOT_MIME_TYPES)
def test_anything_else_is_refused_by_the_send_request_in_a_sentence(value: str) -> None:
    sentence = f"{value!r} is not a MIME type (type/subtype, e.g. application/edi-x12)"
    assert mime_type_problem(value) == sentence
    document = {"inline_base64": "", "content_type": value}
    for request in ({"request_id": "r", "station": "A", "partner": "B", **document},
                    {"request_id": "r", "station": "A", "partner": "B", "inline_base64": "",
                     "attachments": [document]}):  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            SendRequest.model_validate(request)
        assert [e["msg"] for e in refused.value.errors()] == [f"Value error, {sentence}"]


def test_the_json_schema_gives_publishers_the_same_rule() -> None:
    schema = SendRequest.model_json_schema()
    documents = [schema, schema["$defs"]["SendAttachment"]]
    assert [d["properties"]["content_type"]["pattern"] for d in documents] == [
        MIME_TYPE_PATTERN,
        MIME_TYPE_PATTERN,
    ]


def test_a_long_value_is_quoted_in_part() -> None:
    problem = mime_type_problem("x" * 5000)
    assert problem is not None
    assert problem.startswith(f"'{'x' * 100}...' is not a MIME type")
