"""The binary-safe MIME layer: parts are the exact bytes between delimiters."""

from __future__ import annotations

import pytest

from as2bus.as2 import mime


def test_parts_are_exact_bytes_whatever_the_line_ends() -> None:
    body = (
        b"preamble\r\n--B \t\r\nA\r\n\r\n--B\nline\nwith LF\n--BB not a delimiter\n\n"
        b"--B\r\n\r\n--B--\r\nepilogue"
    )
    assert mime.split_multipart(body, "B") == [
        b"A\r\n",
        b"line\nwith LF\n--BB not a delimiter\n",
        b"",
    ]


def test_a_missing_closing_delimiter() -> None:
    with pytest.raises(mime.MimeError, match="truncated"):
        mime.split_multipart(b"--B\r\nA\r\n--B\r\nrest", "B")
    assert mime.split_multipart(b"--B\r\nA\r\n--B\r\nrest", "B", strict=False) == [b"A", b"rest"]
    with pytest.raises(mime.MimeError, match="no boundary"):
        mime.split_multipart(b"no delimiters here", "B")


def test_entities_headers_and_bodies() -> None:
    entity = mime.parse_entity(
        b"Content-Type: application/EDI-X12;\r\n  name=po.x12\r\n"
        b"Content-Transfer-Encoding: Base64\r\n\r\nSVNB\r\nKjAw\r\n"
    )
    assert (entity.content_type, entity.param("name"), entity.transfer_encoding) == (
        "application/edi-x12",
        "po.x12",
        "base64",
    )
    assert entity.decoded() == b"ISA*00"
    headerless = mime.parse_entity(b"ISA*00*~\r\n\r\nnot headers")
    assert (headerless.content_type, headerless.body) == (
        "application/octet-stream",
        b"ISA*00*~\r\n\r\nnot headers",
    )
    no_headers = mime.parse_entity(b"\r\nbody")
    assert (no_headers.content_type, no_headers.body) == ("text/plain", b"body")


def test_transfer_encodings() -> None:
    assert mime.decode_transfer(b"a=3Db=\r\nc", "quoted-printable") == b"a=bc"
    assert mime.decode_transfer(b"\x00\xff", "binary") == b"\x00\xff"
    with pytest.raises(mime.MimeError, match="x-uuencode"):
        mime.decode_transfer(b"x", "x-uuencode")
    with pytest.raises(mime.MimeError, match="base64"):
        mime.decode_transfer(b"SVNB=KjA", "base64")


def test_a_boundary_never_occurs_in_the_parts() -> None:
    content_type, body = mime.multipart("mixed", [b"Content-ID: 1\r\n\r\n--", b"\x00"])
    boundary = content_type.split('boundary="')[1].rstrip('"')
    assert mime.split_multipart(body, boundary) == [b"Content-ID: 1\r\n\r\n--", b"\x00"]
    first = mime.first_part(body, boundary)
    assert first is not None
    assert first.headers["Content-ID"] == "1"
