"""A small binary-safe MIME layer: entities are read and written as exact bytes.

The codec does not let the ``email`` package (nor pyas2lib, which uses it) serialise what it
parsed: that rewrites line endings and headers, which breaks signatures and byte-identical
delivery (pyas2lib's ``Message.build`` turns LF into CRLF in any payload that is not
``application/octet-stream``). ``email`` is only used to read header parameters.
"""

from __future__ import annotations

import binascii
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import encode_rfc2231

import pybase64

HEADER_LIMIT = 64 * 1024
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")  # RFC 5322 field-name, then ":"
_LINE_END = re.compile(rb"\r?\n")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 2045 token


class MimeError(ValueError):
    """Not MIME we can read (truncated, no boundary, unknown transfer encoding)."""


@dataclass(frozen=True)
class Entity:
    """A MIME entity: its header fields (read with ``email`` for their parameters) and body."""

    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    def param(self, name: str, header: str = "content-type") -> str | None:
        value = self.headers.get_param(name, header=header)
        if isinstance(value, tuple):  # RFC 2231 encoded
            value = value[2]
        return None if value is None else str(value)

    @property
    def transfer_encoding(self) -> str:
        return str(self.headers.get("content-transfer-encoding", "")).strip().lower()

    @property
    def filename(self) -> str | None:
        name = self.headers.get_filename()
        return None if name is None else str(name)

    def decoded(self) -> bytes:
        return decode_transfer(self.body, self.transfer_encoding)


def headers_of(fields: list[tuple[str, str]]) -> Message:
    message = Message(policy=compat32)
    for name, value in fields:
        message[name] = value
    return message


def parse_entity(data: bytes) -> Entity:
    """Header fields up to the first empty line, then the body (the exact bytes that follow).

    Content that does not start with MIME header fields (a raw EDI file someone encrypted
    without headers) is taken whole as an ``application/octet-stream`` body."""
    if data.startswith((b"\r\n", b"\n")):
        return Entity(Message(policy=compat32), data[2 if data[0] == 13 else 1 :])
    end = _HEADER_END.search(data, 0, HEADER_LIMIT)
    if end is not None and _FIELD.match(data):
        block = data[: end.start()]
        lines = _LINE_END.split(block)
        if all(_FIELD.match(line) or line[:1] in (b" ", b"\t") for line in lines):
            headers = BytesHeaderParser(policy=compat32).parsebytes(block + b"\r\n\r\n")
            names = [k.lower() for k in headers]
            if any(k.startswith("content-") or k == "mime-version" for k in names):
                return Entity(headers, data[end.end() :])
    return Entity(headers_of([("Content-Type", "application/octet-stream")]), data)


def split_multipart(body: bytes, boundary: str, *, strict: bool = True) -> list[bytes]:
    """The exact bytes of each part. The CRLF before a delimiter belongs to the delimiter
    (RFC 2046 §5.1.1), so a part's bytes are what a signature over it covers."""
    delimiter = b"--" + boundary.encode("ascii", "replace")
    parts: list[bytes] = []
    at = _delimiter_at(body, delimiter, 0)
    if at < 0:
        raise MimeError(f"the multipart body has no boundary {boundary!r}")
    while True:
        after = at + len(delimiter)
        if body[after : after + 2] == b"--":
            return parts
        line_end = body.find(b"\n", after)
        if line_end < 0:
            break
        start = line_end + 1
        nxt = _delimiter_at(body, delimiter, start)
        if nxt < 0:
            if strict:
                break
            parts.append(body[start:])
            return parts
        end = nxt - 1 if nxt > start else nxt  # drop the LF (or CRLF) before the delimiter
        if end > start and body[end - 1 : end] == b"\r":
            end -= 1
        parts.append(body[start:end])
        at = nxt
    raise MimeError("the multipart body is truncated (no closing boundary)")


def first_part(body: bytes, boundary: str) -> Entity | None:
    """The first part's header fields (and the start of its body), without splitting the rest."""
    at = _delimiter_at(body, b"--" + boundary.encode("ascii", "replace"), 0)
    start = body.find(b"\n", at) + 1 if at >= 0 else 0
    return parse_entity(body[start : start + HEADER_LIMIT]) if start else None


def _delimiter_at(body: bytes, delimiter: bytes, start: int) -> int:
    """Index of the next delimiter line at or after ``start``, or -1."""
    pos = start
    while True:
        if pos == 0 and body.startswith(delimiter):
            found = 0
        else:
            hit = body.find(b"\n" + delimiter, max(pos - 1, 0))
            if hit < 0:
                return -1
            found = hit + 1
        tail = body[found + len(delimiter) : found + len(delimiter) + 2]
        if tail[:1] in (b"", b"\r", b"\n", b" ", b"\t") or tail == b"--":
            return found
        pos = found + 1  # a longer boundary that starts with ours


def decode_transfer(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "binary", "7bit", "8bit"):
        return body
    if encoding == "base64":
        return b"".join(base64_decoded((body,)))  # line breaks and other bytes skipped
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    raise MimeError(f"unknown Content-Transfer-Encoding {encoding!r}")


_NOT_BASE64 = bytes(
    b
    for b in range(256)
    if b not in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
)


def base64_decoded(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``binascii.a2b_base64`` over the concatenation, a chunk at a time: other bytes are
    skipped, a stray ``=`` too, and decoding stops at the padding that ends a quantum.

    What reaches the decoder is whole quanta of the alphabet only, so pybase64's strict
    decoder gives a2b_base64's result at about forty times its speed (a2b_base64 took 1.9 ms
    per MiB and held base64 messages end to end to about 20 MB/s: docs/benchmarks.md)."""
    held = b""
    for chunk in chunks:
        data = chunk.translate(None, _NOT_BASE64)
        if held:
            data = held + data
        data, done = _up_to_padding(data)
        # "xy=" at the end (the second "=" may come next) is 3 past a quantum: kept back
        cut = len(data) if done else len(data) // 4 * 4
        yield _a2b(memoryview(data)[:cut])
        held = data[cut:]
        if done:
            return
    if held:
        yield _a2b(memoryview(held))  # an incomplete quantum: the same error a2b_base64 gives


def _up_to_padding(data: bytes) -> tuple[bytes, bool]:
    """(data without stray "=", whether it ends with the padding that ends the data)."""
    if b"=" not in data:
        return data, False
    pieces = data.split(b"=")
    kept, q = [pieces[0]], len(pieces[0]) % 4
    for i, piece in enumerate(pieces[1:], 1):
        if q == 3 or (q == 2 and piece == b"" and i + 1 < len(pieces)):
            return b"".join(kept) + b"=" * (4 - q), True
        if q == 2 and i + 1 == len(pieces) and piece == b"":
            return b"".join(kept) + b"=", False
        kept.append(piece)  # a2b_base64 skips an "=" inside a quantum
        q = (q + len(piece)) % 4
    return b"".join(kept), False


def _a2b(quanta: memoryview) -> bytes:
    try:
        return pybase64.b64decode(quanta, validate=True)
    except binascii.Error:
        pass  # not whole quanta (a truncated end): a2b_base64 says what is wrong
    try:
        return binascii.a2b_base64(quanta)
    except binascii.Error as err:
        raise MimeError(f"invalid base64 content: {err}") from None


def encode_base64(data: bytes) -> bytes:
    """76-character lines with CRLF, as MIME wants. pybase64 encodes and cuts the lines in
    one C call; the standard library's ``encodebytes`` makes a Python call per line, which
    held a base64 message build to 29 MB/s (docs/benchmarks.md)."""
    return pybase64.encodebytes(data).replace(b"\n", b"\r\n")


class Base64Lines:
    """``encode_base64`` for data that arrives in pieces: the same bytes, line for line."""

    _GROUP = 57  # input bytes per 76-character line

    def __init__(self) -> None:
        self._held = b""

    def update(self, data: bytes) -> bytes:
        data = self._held + data
        cut = len(data) - len(data) % self._GROUP
        self._held = data[cut:]
        return encode_base64(data[:cut]) if cut else b""

    def finish(self) -> bytes:
        out, self._held = encode_base64(self._held), b""
        return out

    @classmethod
    def length(cls, size: int) -> int:
        """What ``size`` bytes become: 78 per full line (76 + CRLF), then the last line."""
        full, rest = divmod(size, cls._GROUP)
        return full * 78 + ((rest + 2) // 3 * 4 + 2 if rest else 0)


def canonical(data: bytes) -> bytes:
    """Every line break as CRLF (the S/MIME canonical form of text)."""
    return _LINE_END.sub(b"\r\n", data)


def check_header_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} must be one line: {value!r}")
    return value


def render(fields: list[tuple[str, str]], body: bytes) -> bytes:
    head = "".join(f"{k}: {check_header_value(k, v)}\r\n" for k, v in fields)
    return head.encode("utf-8") + b"\r\n" + body


def with_params(value: str, **params: str) -> str:
    """``value; name=param...``: tokens bare (as openssl writes ``smime-type=enveloped-data``,
    which naive readers match literally), file names and other values quoted, non-ASCII
    values in RFC 2231 form. ``smime_type`` stands for ``smime-type``."""
    out = [value]
    for key, param in params.items():
        name = key.replace("_", "-")
        if not param.isascii():
            out.append(f"{name}*={encode_rfc2231(param, 'utf-8')}")
        elif _TOKEN.fullmatch(param) and name not in ("name", "filename"):
            out.append(f"{name}={param}")
        else:
            out.append(f'{name}="' + param.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "; ".join(out)


def new_boundary(*contents: bytes) -> str:
    while True:
        boundary = f"----=_as2bus_{uuid.uuid4().hex}"
        marker = b"--" + boundary.encode()
        if not any(marker in content for content in contents):
            return boundary


def multipart(subtype: str, parts: list[bytes], **params: str) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart whose parts are the given exact entity bytes."""
    boundary = new_boundary(*parts)
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return with_params(f"multipart/{subtype}", **params, boundary=boundary), body
