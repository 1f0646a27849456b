"""The content type a document goes with when the sender names none (``as2bus send`` and the
console's Send File): its first bytes first, then its name, then application/octet-stream."""

from __future__ import annotations

import codecs

import pytest

from as2bus.contracts.content_types import HEAD_BYTES, guess_content_type

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
