"""The grammar of the AS2 requests the fuzzer sends: real messages and MDNs built layer by
layer with our codec's own pieces (MIME, CMS) and real keys, and the mutations that break
each layer.

A message is a document entity (or several in a multipart/related, RFC 6362) wrapped in
``Layer``s, inside out: detached or opaque signature, compression, encryption, each in an
entity of its own; the outermost entity's header fields are the HTTP request's, beside the
AS2 ones. A ``Mutation`` names the layer it breaks (0 is the document entity, ``i`` the
entity of the i-th layer, ``len(layers) + 1`` the HTTP request) and how; the layers outside
it are then built as a sender would, around the broken bytes. So a broken compression
inside a valid signature inside a valid encryption reaches the inflater, and a broken
signature reaches the verifier of a message decrypted as usual.

Whether a broken message may still be delivered follows from where it was broken
(``Message.expectation``): a change under ACME's signature is signed by ACME (anything may
then be delivered), a change outside it is not (the document must then arrive unchanged, or
not at all); a message signed or encrypted with a stranger's key, or protected less than the
partnership requires, must not be delivered at all.

Nothing here uses Hypothesis: ``strategies`` draws the recipes, this builds them.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from as2bus import as2
from as2bus.as2 import cms, mime, stages
from as2bus.as2.algorithms import EncryptionAlg, KeyTransport, SignatureScheme, SigningAlg
from as2bus.as2.message import post_headers
from as2bus.inbound.parties import Parties
from as2bus.testing.config_states import partner_state, station_state

from ..unit.receiving import PARTNER, STATION

#: A second partner of MYCO that requires neither signature nor encryption: what it sends
#: reaches the document parsers without any cryptography in the way.
LAX = "LAX"
#: The message id of the message ours the fuzzed MDNs answer.
SENT_ID = "<sent-1@myco>"
#: The fuzzed receiver's payload limit (``Receiver(max_payload_bytes=...)``).
MAX_PAYLOAD = 1 << 20

KeyName = Literal["acme", "myco", "mallory"]


@functools.cache
def keys(name: KeyName) -> as2.KeyPair:
    """A key and its self-signed certificate, as ``unit/receiving.key_pair`` makes them
    (ACME's and MYCO's; Mallory's is nobody's), but of 1024 bits: a case costs up to four
    RSA operations (signing, decrypting, our MDN's signature), four times cheaper so, and
    no parser's path depends on the key's size."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} (fuzz)")])
    start = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return as2.KeyPair(pem, cert.public_bytes(serialization.Encoding.PEM))


@functools.cache
def partnerships() -> tuple[Parties, Parties]:
    """(ACME → MYCO, signed and encrypted as required; LAX → MYCO, nothing required), as
    ``unit/receiving.partnership`` makes the first, with the fuzzer's keys."""
    myco, acme = keys("myco"), keys("acme")
    station = station_state(STATION, name="Me")
    local = as2.LocalParty(as2_id=STATION, signing=myco, decryption=[myco])

    def partner(as2_id: str, *, required: bool) -> Parties:
        state = partner_state(
            as2_id,
            name=as2_id.title(),
            as2_alias=as2_id.lower(),
            as2_url=f"https://{as2_id.lower()}.example/as2",
        )
        remote = as2.RemoteParty(
            as2_id=as2_id,
            verify_certs=[acme.cert_pem],
            encrypt_cert=acme.cert_pem,
            require_signed=required,
            require_encrypted=required,
        )
        return Parties(station, state, local, remote)

    return partner(PARTNER, required=True), partner(LAX, required=False)


# -- documents ---------------------------------------------------------------------------------

EDI = b"ISA*00*          *00*          *ZZ*ACME           *ZZ*MYCO           ~\r\nIEA*1*1~\r\n"
#: The documents a message may carry: EDI, binary, LF-only text, boundary-like lines, empty.
DOCUMENTS: tuple[bytes, ...] = (
    EDI,
    bytes(range(256)) * 12,
    b"line one\nline two\n\nline four\n",
    b"--boundary\r\n--x--\r\n\r\n=\r\nContent-Type: text/plain\r\n\r\n",
    b"",
    b"<?xml version='1.0'?><order id='1'/>",
)


@dataclass(frozen=True)
class Layer:
    """One protection around the entity inside: ``sign`` (multipart/signed), ``opaque``
    (pkcs7-mime signed-data), ``compress`` (compressed-data), ``encrypt`` (enveloped-data,
    auth-enveloped-data for GCM). ``key``: the signer, or whose certificate it is encrypted
    for. ``base64``: the entity's Content-Transfer-Encoding (CMS layers)."""

    kind: Literal["sign", "opaque", "compress", "encrypt"]
    key: KeyName = "acme"
    base64: bool = False
    signing: SigningAlg = SigningAlg.SHA256
    scheme: SignatureScheme = SignatureScheme.PKCS1V15
    encryption: EncryptionAlg = EncryptionAlg.AES256
    transport: KeyTransport = KeyTransport.RSA_PKCS1V15

    def __str__(self) -> str:
        extra = {
            "sign": f"{self.signing}/{self.scheme}",
            "opaque": f"{self.signing}",
            "compress": "",
            "encrypt": f"{self.encryption}/{self.transport}",
        }[self.kind]
        b64 = ",b64" if self.base64 else ""
        return f"{self.kind}[{self.key}{b64}{',' + extra if extra else ''}]"


MdnAsk = Literal["none", "sync", "sync-signed", "async-signed", "sync-md5-required"]


@dataclass(frozen=True)
class Shape:
    """A valid message before any mutation (or an invalid one, when its keys are wrong)."""

    partner: str = PARTNER  # ACME (strict) or LAX
    documents: tuple[int, ...] = (0,)  # indexes into DOCUMENTS; more than one: RFC 6362
    content_type: str = "application/edi-x12"
    base64: bool = False  # the documents' Content-Transfer-Encoding
    layers: tuple[Layer, ...] = (Layer("sign"), Layer("encrypt", key="myco"))
    mdn: MdnAsk = "sync-signed"

    def __str__(self) -> str:
        docs = "+".join(str(i) for i in self.documents)
        stack = " ".join(str(layer) for layer in self.layers) or "plain"
        b64 = ",b64" if self.base64 else ""
        return f"{self.partner} docs={docs}{b64} [{stack}] mdn={self.mdn}"

    @property
    def payloads(self) -> tuple[bytes, ...]:
        return tuple(DOCUMENTS[i] for i in self.documents)

    def keyed_right(self) -> bool:
        """Signed by ACME only and encrypted for MYCO only, and, from ACME, both: what no
        change of the message can make up for."""
        for layer in self.layers:
            if layer.kind in ("sign", "opaque") and layer.key != "acme":
                return False
            if layer.kind == "encrypt" and layer.key != "myco":
                return False
        kinds = {("sign" if layer.kind == "opaque" else layer.kind) for layer in self.layers}
        return self.partner != PARTNER or {"sign", "encrypt"} <= kinds

    def protected(self) -> bool:
        """Whether it is protected as MYCO accepts: keyed right and each layer at most once
        (one more is a nesting trick, refused)."""
        kinds = [("sign" if layer.kind == "opaque" else layer.kind) for layer in self.layers]
        return self.keyed_right() and len(kinds) == len(set(kinds))

    def valid(self) -> bool:
        """Whether, unbroken, MYCO accepts it: protected, asking for a receipt it can give,
        and not empty (an unprotected body is the document's entity body: nothing, or
        nothing but whitespace not encoded, is refused as empty)."""
        if not self.protected() or self.mdn == "sync-md5-required":
            return False
        first = self.payloads[0]
        return (
            bool(self.layers)
            or len(self.payloads) > 1
            or bool(first.strip() or (self.base64 and first))
        )


# -- mutations ---------------------------------------------------------------------------------

Where = Literal["entity", "der", "content", "body"]


@dataclass(frozen=True)
class Mutation:
    """``op`` applied at ``layer`` (0: the document entity; i: the i-th layer's entity;
    ``len(layers) + 1``: the HTTP request). ``where``: the layer's rendered entity
    (``entity``), its CMS DER before it is framed (``der``), the signed content after it was
    signed (``content``, a ``sign`` layer: a tampered message), or the HTTP body (``body``).
    ``args``: what the operator drew (positions as fractions of 65536, sizes, choices)."""

    layer: int
    where: Where
    op: str
    args: tuple[int, ...] = ()

    def __str__(self) -> str:
        return f"{self.op}{list(self.args)}@{self.where}{self.layer}"


@dataclass(frozen=True)
class Message:
    shape: Shape
    mutations: tuple[Mutation, ...] = ()
    #: The Message-ID ACME gives it (a replay sends the unbroken message with the same one).
    message_id: str = "<order-1@acme>"

    def __str__(self) -> str:
        muts = ", ".join(map(str, self.mutations)) or "none"
        return f"{self.shape} mutations: {muts}"

    def expectation(self) -> Literal["never", "same", "any"]:
        """``never``: must not be delivered; ``same``: if delivered, the documents arrive
        unchanged; ``any``: may be delivered with other documents (changed under ACME's
        signature, or sent by a partner that requires no signature).

        A mutation at layer ``i`` is under every layer after it: ACME's signature there
        covers it. A sign layer's own signature, or its content changed after signing,
        is not covered by that same signature. A change under ACME's signature may also
        take a layer away (one compression of two, say): ACME then signed what is left.

        A change to a layer's own entity may take that layer away too, leaving the layers
        inside it as they were built (the fuzzer stripped the outer of two signatures by
        removing header lines, leaving ACME's inner one): when what is left is protected,
        it is what ACME sent, and may be delivered, with the documents unchanged."""
        if not self.shape.keyed_right():
            return "never"
        if self.shape.partner == LAX:
            return "any"
        for mutation in self.mutations:
            if any(_acme_signs(layer) for layer in self.shape.layers[mutation.layer :]):
                return "any"
        if self.shape.protected() or self._stripped().protected():
            return "same"
        return "never"

    def _stripped(self) -> Shape:
        """The shape without the layers whose own entity a mutation changed."""
        changed = {m.layer for m in self.mutations if m.where == "entity"}
        kept = tuple(
            layer for index, layer in enumerate(self.shape.layers, 1) if index not in changed
        )
        return replace(self.shape, layers=kept)


def _acme_signs(layer: Layer) -> bool:
    return layer.kind in ("sign", "opaque") and layer.key == "acme"


@dataclass
class Request:
    """What is POSTed: header fields in order (duplicates allowed) and the body."""

    headers: list[tuple[str, str]]
    body: bytes
    description: str = ""

    def mapping(self) -> dict[str, str]:
        """The header fields as the endpoint hands them to ``Receiver`` (``dict`` of
        Starlette's headers): names in lower case, the first of duplicates."""
        found: dict[str, str] = {}
        for name, value in self.headers:
            found.setdefault(name.lower(), value)
        return found

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The header fields as an ASGI server passes them: names in lower case, latin-1."""
        return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_NOT_IN_VALUES = re.compile(r"[\r\n\x00]")


def request_fields(lines: list[bytes]) -> list[tuple[str, str]]:
    """Header lines as an HTTP server reads them (h11): a continuation line joined to the
    one before with a space, values stripped; a line that is not ``token: value`` (or has
    CR, LF or NUL in its value) is one the server refuses, left out here."""
    unfolded: list[bytes] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and unfolded:
            unfolded[-1] += b" " + line.lstrip(b" \t")
        else:
            unfolded.append(line)
    fields = []
    for line in unfolded:
        name, colon, value = line.decode("latin-1").partition(":")
        if colon and _TOKEN.fullmatch(name) and not _NOT_IN_VALUES.search(value):
            fields.append((name, value.strip(" \t")))
    return fields


# -- byte-level operators ----------------------------------------------------------------------

TRICKY: tuple[bytes, ...] = (
    b"\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff\xfe",
    b"--",
    b"\r\n--",
    b"\r\n\r\n",
    b"=",
    b"==",
    b"=\r\n",
    b"\x30\x80",
    b"\x30\x84\xff\xff\xff\xff",
    b"\x00\x00",
    b"Content-Type: multipart/signed; boundary=x\r\n\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"\xe2\x80\xae",
    b" " * 300,
)


def _at(blob: bytes, frac: int) -> int:
    return len(blob) * frac // 65536


def byte_op(blob: bytes, op: str, args: tuple[int, ...]) -> bytes:
    """The generic operators, on any bytes; ``args`` as ``strategies`` draws them."""
    a = (*args, 0, 0, 0)
    if op == "flip":
        if not blob:
            return b"\x00"
        i = min(_at(blob, a[0]), len(blob) - 1)
        return blob[:i] + bytes([blob[i] ^ (a[1] % 255 + 1)]) + blob[i + 1 :]
    if op == "truncate":
        return blob[: _at(blob, a[0])]
    if op == "chop-head":
        return blob[_at(blob, a[0]) :]
    if op == "delete":
        i = _at(blob, a[0])
        return blob[:i] + blob[i + a[1] % 4096 + 1 :]
    if op == "insert":
        i = _at(blob, a[0])
        return blob[:i] + TRICKY[a[1] % len(TRICKY)] * (a[2] % 8 + 1) + blob[i:]
    if op == "duplicate":
        i = _at(blob, a[0])
        piece = blob[i : i + a[1] % 8192 + 1]
        return blob[:i] + piece * (a[2] % 64 + 2) + blob[i + len(piece) :]
    if op == "append":
        return blob + TRICKY[a[1] % len(TRICKY)] * (a[2] % 16 + 1)
    if op == "lf":  # every CRLF as LF, as a transport that rewrites line ends
        return blob.replace(b"\r\n", b"\n")
    if op == "crlf":  # every bare LF as CRLF
        return mime.canonical(blob)
    if op == "empty":
        return b""
    if op == "whitespace":
        return b" \r\n\t" * (a[0] % 32 + 1)
    raise ValueError(f"no byte operator {op!r}")


BYTE_OPS = (
    "flip", "truncate", "chop-head", "delete", "insert", "duplicate", "append", "lf", "crlf",
    "empty", "whitespace",
)  # fmt: skip


# -- MIME operators ----------------------------------------------------------------------------


def split_head(entity: bytes) -> tuple[list[bytes], bytes, bytes]:
    """(header lines, the separator, the body) of a rendered entity; no header lines when it
    has none."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = entity.find(sep)
        if end >= 0:
            head = entity[:end]
            lines = head.split(b"\r\n") if b"\r\n" in head else head.split(b"\n")
            return lines, sep, entity[end + len(sep) :]
    return [], b"", entity


def join_head(lines: list[bytes], sep: bytes, body: bytes) -> bytes:
    return (b"\r\n".join(lines) + sep if lines else b"") + body


CONTENT_TYPES: tuple[bytes, ...] = (
    b"text/plain",
    b"application/octet-stream",
    b"multipart/signed",
    b'multipart/signed; protocol="application/pkcs7-signature"; boundary=""',
    b"multipart/signed; boundary=x",
    b"multipart/related; boundary=x",
    b"multipart/related",
    b"multipart/mixed; boundary=x",
    b"multipart/report; report-type=disposition-notification; boundary=x",
    b"application/pkcs7-mime",
    b"application/pkcs7-mime; smime-type=enveloped-data",
    b"application/pkcs7-mime; smime-type=signed-data",
    b"application/pkcs7-mime; smime-type=compressed-data",
    b"application/x-pkcs7-mime; smime-type=authEnveloped-data",
    b"application/pkcs7-signature",
    b"message/disposition-notification",
    b"",
    b"/",
    b";;;;",
    b'text/plain; charset="unterminated',
    b"multipart/signed; boundary*=utf-8''%E2%82%AC",
    b'multipart/signed; boundary="' + b"b" * 5000 + b'"',
    b"APPLICATION/PKCS7-MIME; SMIME-TYPE=ENVELOPED-DATA",
    b'multipart/related; type=application/edi-x12; boundary="--"',
)
ENCODINGS: tuple[bytes, ...] = (
    b"base64", b"BASE64", b" base64 ", b"quoted-printable", b"7bit", b"8bit", b"binary",
    b"x-uuencode", b"", b"base64; x=1", b"\xff",
)  # fmt: skip


def _field_name(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().lower() if b":" in line else b""


def mime_op(entity: bytes, op: str, args: tuple[int, ...]) -> bytes:
    """Operators that know a MIME entity: its header fields, boundaries, base64 body."""
    a = (*args, 0, 0, 0, 0)
    lines, sep, body = split_head(entity)
    if op == "header-remove" and lines:
        del lines[a[0] % len(lines)]
        return join_head(lines, sep, body)
    if op == "header-duplicate" and lines:
        i = a[0] % len(lines)
        name = lines[i].split(b":", 1)[0]
        copy = name + b": " + CONTENT_TYPES[a[1] % len(CONTENT_TYPES)] if a[2] % 2 else lines[i]
        lines.insert(i + 1 if a[3] % 2 else i, copy)
        return join_head(lines, sep, body)
    if op == "header-case" and lines:
        i = a[0] % len(lines)
        name, colon, value = lines[i].partition(b":")
        name = name.upper() if a[1] % 3 == 0 else name.lower() if a[1] % 3 == 1 else name.swapcase()
        lines[i] = name + colon + value
        return join_head(lines, sep, body)
    if op == "header-fold" and lines:
        i = a[0] % len(lines)
        line = lines[i]
        cut = max(line.find(b":") + 1, 0) + (a[1] % max(len(line), 1))
        cut = min(cut, len(line))
        fold = (b"\r\n ", b"\r\n\t", b"\n ", b"\r\n", b"\r\n \r\n ")[a[2] % 5]
        lines[i] = line[:cut] + fold + line[cut:]
        return join_head(lines, sep, body)
    if op == "header-oversize" and lines:
        i = a[0] % len(lines)
        size = (100, 1000, 20_000, 70_000)[a[1] % 4]
        lines[i] = lines[i] + b"; x=" + b"y" * size
        return join_head(lines, sep, body)
    if op == "content-type" and lines:
        value = CONTENT_TYPES[a[0] % len(CONTENT_TYPES)]
        kept = [line for line in lines if _field_name(line) != b"content-type"]
        return join_head([b"Content-Type: " + value, *kept], sep, body)
    if op == "transfer-encoding" and lines:
        value = ENCODINGS[a[0] % len(ENCODINGS)]
        kept = [line for line in lines if _field_name(line) != b"content-transfer-encoding"]
        return join_head([*kept, b"Content-Transfer-Encoding: " + value], sep, body)
    if op == "no-separator":
        return join_head(lines, b"\r\n", body) if lines else body
    if op == "no-headers":
        return body
    if op == "header-garbage" and lines:
        junk = (b"no colon here", b": no name", b"X-\x00: nul", b"\xff\xfe: latin", b" leading")
        lines.insert(a[0] % (len(lines) + 1), junk[a[1] % len(junk)])
        return join_head(lines, sep, body)
    if op.startswith("multipart-"):
        return _multipart_op(entity, op, a)
    if op.startswith("base64-"):
        return join_head(lines, sep, _base64_op(body, op, a))
    return entity


MIME_OPS = (
    "header-remove", "header-duplicate", "header-case", "header-fold", "header-oversize",
    "content-type", "transfer-encoding", "no-separator", "no-headers", "header-garbage",
    "multipart-no-close", "multipart-no-open", "multipart-near-miss", "multipart-extra-part",
    "multipart-swap", "multipart-drop-part", "multipart-preamble", "multipart-lf-delimiters",
    "multipart-boundary-param", "multipart-deep", "multipart-many-parts",
    "base64-junk", "base64-no-padding", "base64-cut", "base64-stray-padding", "base64-long-lines",
)  # fmt: skip


def boundary_of(entity: bytes) -> bytes | None:
    lines, _, _ = split_head(entity)
    value = b" ".join(line for line in lines if _field_name(line) == b"content-type")
    headers = mime.headers_of([("Content-Type", value.split(b":", 1)[-1].decode("latin-1"))])
    found = mime.Entity(headers, b"").param("boundary")
    return found.encode("latin-1", "replace") if found else None


def _multipart_op(entity: bytes, op: str, a: tuple[int, ...]) -> bytes:
    boundary = boundary_of(entity)
    if not boundary:
        return entity
    lines, sep, body = split_head(entity)
    delimiter = b"--" + boundary
    if op == "multipart-no-close":
        body = body.replace(delimiter + b"--", b"")
    elif op == "multipart-no-open":
        body = body.replace(delimiter + b"\r\n", b"", 1)
    elif op == "multipart-near-miss":
        n = body.count(delimiter)
        if n:
            k = a[0] % n
            at = -1
            for _ in range(k + 1):
                at = body.find(delimiter, at + 1)
            body = body[:at] + delimiter + b"X" + body[at + len(delimiter) :]
    elif op == "multipart-extra-part":
        extra = (b"Content-Type: text/plain\r\n\r\nextra", b"", b"\r\n", b"no headers at all")
        added = delimiter + b"\r\n" + extra[a[0] % len(extra)] + b"\r\n" + delimiter + b"--"
        body = body.replace(delimiter + b"--", added, 1)
    elif op in ("multipart-swap", "multipart-drop-part"):
        parts = body.split(delimiter)
        inner = parts[1:-1]
        if len(inner) >= 2 and op == "multipart-swap":
            inner[0], inner[1] = inner[1], inner[0]
        elif inner and op == "multipart-drop-part":
            del inner[a[0] % len(inner)]
        body = delimiter.join([parts[0], *inner, parts[-1]]) if len(parts) >= 2 else body
    elif op == "multipart-preamble":
        body = b"preamble " + delimiter + b"X\r\n" + body + b"epilogue\r\n" + delimiter + b"\r\n"
    elif op == "multipart-lf-delimiters":
        body = body.replace(b"\r\n" + delimiter, b"\n" + delimiter)
    elif op == "multipart-boundary-param":
        others = (b"", b"x", boundary + b"x", boundary[:-1], b'"', b" " + boundary, b"--")
        new = others[a[0] % len(others)]
        lines = [
            line.replace(boundary, new) if _field_name(line) == b"content-type" else line
            for line in lines
        ]
    elif op == "multipart-deep":
        depth = (3, 30, 300, 3000)[a[0] % 4]
        for level in range(depth):
            b = b"d%d" % level
            body = (
                b"--" + b + b"\r\nContent-Type: multipart/related; boundary=\"" + delimiter[2:]
                + b"\"\r\n\r\n" + body + b"\r\n--" + b + b"--\r\n"
            )  # fmt: skip
            delimiter = b"--" + b
        lines = [
            b'Content-Type: multipart/related; boundary="' + delimiter[2:] + b'"'
            if _field_name(line) == b"content-type"
            else line
            for line in lines
        ]
    elif op == "multipart-many-parts":
        count = (999, 1000, 1001, 5000)[a[0] % 4]
        part = b"Content-Type: text/plain\r\n\r\nx\r\n"
        body = (delimiter + b"\r\n" + part) * count + delimiter + b"--\r\n"
    return join_head(lines, sep, body)


def _base64_op(body: bytes, op: str, a: tuple[int, ...]) -> bytes:
    if op == "base64-junk":
        i = _at(body, a[0])
        junk = (b"!", b"*", b"\xc3\xa9", b"-", b"@@@@", b"\x00")[a[1] % 6]
        return body[:i] + junk + body[i:]
    if op == "base64-no-padding":
        return body.replace(b"=", b"")
    if op == "base64-cut":
        stripped = body.rstrip()
        return stripped[: max(len(stripped) - (a[0] % 3 + 1), 0)]
    if op == "base64-stray-padding":
        i = _at(body, a[0])
        return body[:i] + b"=" * (a[1] % 3 + 1) + body[i:]
    if op == "base64-long-lines":
        return body.replace(b"\r\n", b"")
    return body


# -- CMS (DER/BER) operators -------------------------------------------------------------------


@dataclass
class Node:
    """A BER element: its identifier octet, its content (bytes when primitive, children
    when constructed) and whether it was written with an indefinite length."""

    tag: int
    value: bytes | list[Node]
    indefinite: bool = False


class _Unparsable(Exception):
    pass


def parse_ber(data: bytes, *, limit: int = 4000) -> Node:
    """The element tree of ``data`` (at most ``limit`` elements, 24 levels deep)."""
    count = 0

    def one(at: int, depth: int) -> tuple[Node, int]:
        nonlocal count
        count += 1
        if count > limit or depth > 24 or at + 2 > len(data):
            raise _Unparsable
        tag, first, i = data[at], data[at + 1], at + 2
        if tag & 0x1F == 0x1F:
            raise _Unparsable
        if first == 0x80:
            if not tag & 0x20:
                raise _Unparsable
            children, pos = [], i
            while data[pos : pos + 2] != b"\x00\x00":
                child, pos = one(pos, depth + 1)
                children.append(child)
            return Node(tag, children, True), pos + 2
        if first < 0x80:
            length = first
        else:
            n = first & 0x7F
            if n > 4:
                raise _Unparsable
            length, i = int.from_bytes(data[i : i + n], "big"), i + n
        end = i + length
        if end > len(data):
            raise _Unparsable
        if tag & 0x20:
            children, pos = [], i
            while pos < end:
                child, pos = one(pos, depth + 1)
                children.append(child)
            if pos != end:
                raise _Unparsable
            return Node(tag, children), end
        return Node(tag, data[i:end]), end

    node, end = one(0, 0)
    if end != len(data):
        raise _Unparsable
    return node


def encode_ber(node: Node) -> bytes:
    if isinstance(node.value, bytes):
        return stages_tlv(node.tag, node.value)
    content = b"".join(encode_ber(child) for child in node.value)
    if node.indefinite:
        return bytes((node.tag, 0x80)) + content + b"\x00\x00"
    return stages_tlv(node.tag, content)


def stages_tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def walk(node: Node) -> list[Node]:
    found = [node]
    if isinstance(node.value, list):
        for child in node.value:
            found.extend(walk(child))
    return found


def _oid(dotted: str) -> bytes:
    return bytes(asn1_cms.ContentType(dotted).contents)


#: OIDs a mutation puts where another one was: CMS content types, algorithms, nonsense.
OIDS: tuple[bytes, ...] = (
    _oid("1.2.840.113549.1.7.1"),  # data
    _oid("1.2.840.113549.1.7.2"),  # signedData
    _oid("1.2.840.113549.1.7.3"),  # envelopedData
    _oid("1.2.840.113549.1.7.5"),  # digestedData
    _oid("1.2.840.113549.1.7.6"),  # encryptedData
    _oid("1.2.840.113549.1.9.16.1.9"),  # compressedData
    _oid("1.2.840.113549.1.9.16.1.23"),  # authEnvelopedData
    _oid("1.2.840.113549.1.1.1"),  # rsaEncryption
    _oid("1.2.840.113549.1.1.7"),  # RSAES-OAEP
    _oid("2.16.840.1.101.3.4.1.42"),  # aes256-CBC
    _oid("2.16.840.1.101.3.4.1.46"),  # aes256-GCM
    _oid("1.2.840.113549.3.2"),  # rc2-CBC
    _oid("1.3.14.3.2.7"),  # des-CBC
    _oid("2.16.840.1.101.3.4.2.1"),  # sha256
    _oid("1.2.840.113549.2.5"),  # md5
    _oid("1.2.840.113549.1.9.16.3.8"),  # zlib
    _oid("1.2.3.4.5.6.7.8.9"),
    b"",
    b"\x2a" * 300,
    b"\x88\x80\x80\x80\x80\x80\x80\x80\x80",  # an arc that never ends
    b"\xff" * 20 + b"\x7f",
)

DER_OPS = (
    "oid", "drop-child", "dup-child", "swap-children", "retag", "replace-content",
    "huge-integer", "nest-deep", "toggle-indefinite", "shorten", "length-huge",
    "length-indefinite", "raw",
)  # fmt: skip


def der_op(der: bytes, op: str, args: tuple[int, ...]) -> bytes:
    """Operators that know BER: on the element tree when the bytes parse (framing kept
    valid, so the reader goes further), on the bytes otherwise."""
    a = (*args, 0, 0, 0, 0)
    if op == "length-huge":  # a length that promises more than there is
        i = _header_at(der, a[0])
        return der[: i + 1] + b"\x84\x7f\xff\xff\xff" + der[i + 2 :] if i >= 0 else der
    if op == "length-indefinite":  # indefinite, with no end-of-contents anywhere
        i = _header_at(der, a[0])
        return der[: i + 1] + b"\x80" + der[i + 2 :] if i >= 0 else der
    if op == "raw":
        return byte_op(der, BYTE_OPS[a[1] % 7], (a[0], a[2], a[3]))
    try:
        tree = parse_ber(der)
    except (_Unparsable, IndexError):
        return byte_op(der, BYTE_OPS[a[1] % 7], (a[0], a[2], a[3]))
    nodes = walk(tree)
    if op == "oid":
        oids = [n for n in nodes if n.tag == 0x06]
        if oids:
            oids[a[0] % len(oids)].value = OIDS[a[1] % len(OIDS)]
    elif op in ("drop-child", "dup-child", "swap-children"):
        parents = [n for n in nodes if isinstance(n.value, list) and n.value]
        if parents:
            parent = parents[a[0] % len(parents)]
            children = parent.value
            assert isinstance(children, list)
            i = a[1] % len(children)
            if op == "drop-child":
                del children[i]
            elif op == "dup-child":
                children.insert(i, children[i])
            elif len(children) > 1:
                j = (i + 1) % len(children)
                children[i], children[j] = children[j], children[i]
    elif op == "retag":
        node = nodes[a[0] % len(nodes)]
        tags = (0x30, 0x31, 0x04, 0x24, 0x02, 0x06, 0x05, 0xA0, 0xA1, 0x80, 0x0C, 0x17, 0x01)
        new = tags[a[1] % len(tags)]
        if isinstance(node.value, list) and not new & 0x20:
            node.value = b"".join(encode_ber(c) for c in node.value)
        elif isinstance(node.value, bytes) and new & 0x20:
            new &= ~0x20
        node.tag = new
    elif op == "replace-content":
        prims = [n for n in nodes if isinstance(n.value, bytes)]
        if prims:
            size = (0, 1, 16, 127, 128, 257, 70_000)[a[1] % 7]
            pattern = bytes(range(256)) * (size // 256 + 1)
            prims[a[0] % len(prims)].value = pattern[a[2] % 256 :][:size]
    elif op == "huge-integer":
        ints = [n for n in nodes if n.tag == 0x02]
        if ints:
            ints[a[0] % len(ints)].value = (b"\x7f" + b"\xff" * 600, b"", b"\x80", b"\x00" * 9)[
                a[1] % 4
            ]
    elif op == "nest-deep":
        node = nodes[a[0] % len(nodes)]
        depth = (20, 200, 2000, 20000)[a[1] % 4]
        inner = Node(node.tag, node.value, node.indefinite)
        for _ in range(depth):
            inner = Node(0x30, [inner], bool(a[2] % 2))
        node.tag, node.value, node.indefinite = inner.tag, inner.value, inner.indefinite
        if depth > 2000:  # too deep for encode_ber's recursion: wrap the bytes directly
            return _nest_bytes(der, depth, bool(a[2] % 2))
    elif op == "toggle-indefinite":
        cons = [n for n in nodes if isinstance(n.value, list)]
        if cons:
            node = cons[a[0] % len(cons)]
            node.indefinite = not node.indefinite
    elif op == "shorten":
        prims = [n for n in nodes if isinstance(n.value, bytes) and n.value]
        if prims:
            node = prims[a[0] % len(prims)]
            assert isinstance(node.value, bytes)
            node.value = node.value[: _at(node.value, a[1])]
    try:
        return encode_ber(tree)
    except RecursionError:
        return der


def _nest_bytes(der: bytes, depth: int, indefinite: bool) -> bytes:
    if indefinite:
        return b"\x30\x80" * depth + der + b"\x00\x00" * depth
    out = der
    for _ in range(depth):
        out = stages_tlv(0x30, out)
    return out


def _header_at(der: bytes, frac: int) -> int:
    """The start of an element header near ``frac`` (walking the tree's headers), or -1."""
    starts: list[int] = []

    def visit(at: int, end: int, depth: int) -> None:
        while at < end and len(starts) < 2000 and depth < 24:
            if at + 2 > len(der):
                return
            tag, first = der[at], der[at + 1]
            starts.append(at)
            i = at + 2
            if first == 0x80:
                visit(i, end, depth + 1)  # cannot know its end cheaply: descend and stop
                return
            if first > 0x80:
                n = first & 0x7F
                length, i = int.from_bytes(der[i : i + n], "big"), i + n
            else:
                length = first
            if tag & 0x20:
                visit(i, min(i + length, end), depth + 1)
            at = i + length

    visit(0, len(der), 0)
    return starts[frac % len(starts)] if starts else -1


# -- building ----------------------------------------------------------------------------------

#: What a bomb inflates to: 1 GiB of zeros, from about 1 MB of zlib data.
BOMB_BYTES = 1 << 30


@functools.cache
def bomb_stream(wbits: int = zlib.MAX_WBITS) -> bytes:
    """A zlib (``wbits`` 15) or gzip (31) stream of ``BOMB_BYTES`` zeros, built in
    milliseconds: after a full flush, each MiB of zeros deflates to the same bytes, so one
    segment is repeated; the trailer's checksum is computed (Adler-32 of zeros: a = 1,
    b = length) or, for gzip, left zero (an inflater stops at the limit long before it)."""
    mib = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()
    trailer = 8 if wbits > 16 else 4
    count = BOMB_BYTES >> 20
    stream = first + again * (count - 1) + end[:-trailer]
    if wbits > 16:
        return stream + bytes(4) + (BOMB_BYTES % (1 << 32)).to_bytes(4, "little")
    return stream + (((BOMB_BYTES % 65521) << 16) | 1).to_bytes(4, "big")


@functools.cache
def bomb_der(framing: int = 0) -> bytes:
    """CompressedData around ``bomb_stream``: zlib in one primitive OCTET STRING (0), zlib
    in BER segments (1), or gzip (2)."""
    data = bomb_stream(31 if framing == 2 else zlib.MAX_WBITS)
    if framing == 1:
        compressed = cms.compress(b"")  # the BER framing of our own writer
        head = compressed[: compressed.index(b"\x24\x80") + 2]
        segments = b"".join(
            stages_tlv(0x04, data[i : i + 16384]) for i in range(0, len(data), 16384)
        )
        return head + segments + b"\x00\x00" * 6
    info = asn1_cms.ContentInfo(
        {
            "content_type": "compressed_data",
            "content": asn1_cms.CompressedData(
                {
                    "version": "v0",
                    "compression_algorithm": {"algorithm": "zlib"},
                    "encap_content_info": {"content_type": "data", "content": data},
                }
            ),
        }
    )
    return bytes(info.dump())


def opaque_signed(content: bytes, layer: Layer) -> bytes:
    """SignedData with its content inside (pkcs7-mime signed-data), signed by ``layer.key``:
    our detached SignedData with ``[0] { OCTET STRING content }`` put in its
    EncapsulatedContentInfo (spliced as BER elements: asn1crypto takes 20 ms to re-encode)."""
    detached = cms.sign(content, layer.signing, keys(layer.key), layer.scheme)
    info = parse_ber(detached)
    assert isinstance(info.value, list)
    explicit = info.value[1].value
    assert isinstance(explicit, list)
    signed = explicit[0].value
    assert isinstance(signed, list)
    encap = signed[2].value
    assert isinstance(encap, list)
    encap.append(Node(0xA0, [Node(0x04, content)]))
    return encode_ber(info)


def _mutate(
    blob: bytes, mutations: Sequence[Mutation], layer: int, where: Where
) -> tuple[bytes, list[str]]:
    applied: list[str] = []
    for mutation in mutations:
        if mutation.layer != layer or mutation.where != where:
            continue
        if mutation.op in BYTE_OPS:
            blob = byte_op(blob, mutation.op, mutation.args)
        elif mutation.op in DER_OPS:
            blob = der_op(blob, mutation.op, mutation.args)
        elif mutation.op.startswith("bomb"):
            blob = bomb_der(mutation.args[0] % 3 if mutation.args else 0)
        else:
            blob = mime_op(blob, mutation.op, mutation.args)
        applied.append(mutation.op)
    return blob, applied


def document_entity(shape: Shape) -> bytes:
    """The innermost entity: one document, or several in a multipart/related."""
    payloads = shape.payloads
    b64 = shape.base64
    encode: Callable[[bytes], bytes] = mime.encode_base64 if b64 else (lambda d: d)
    if len(payloads) == 1:
        fields = stages.leaf_fields(shape.content_type, b64, "order.x12")
        return mime.render(fields, encode(payloads[0]))
    parts = [
        mime.render(
            stages.leaf_fields(shape.content_type if i == 0 else "application/pdf", b64, f"d{i}"),
            encode(payload),
        )
        for i, payload in enumerate(payloads)
    ]
    root = shape.content_type.split(";")[0]
    content_type, body = mime.multipart("related", parts, type=root)
    return mime.render([("Content-Type", content_type)], body)


def wrap(inner: bytes, layer: Layer, mutations: Sequence[Mutation], index: int) -> bytes:
    """``inner`` in ``layer``'s entity; the mutations of ``index`` that apply before framing
    (``der``, ``content``) on the way."""
    if layer.kind == "sign":
        der = cms.sign(inner, layer.signing, keys(layer.key), layer.scheme)
        der, _ = _mutate(der, mutations, index, "der")
        content, _ = _mutate(inner, mutations, index, "content")
        signature = stages.signature_part(der)
        content_type, body = mime.multipart(
            "signed", [content, signature], **stages.signed_params(layer.signing)
        )
        return mime.render([("Content-Type", content_type)], body)
    if layer.kind == "opaque":
        der = opaque_signed(inner, layer)
        name, kind = "smime.p7m", "signed-data"
    elif layer.kind == "compress":
        der, name, kind = cms.compress(inner), "smime.p7z", "compressed-data"
    else:
        cert = keys(layer.key).cert_pem
        der = cms.encrypt(inner, layer.encryption, cert, layer.transport)
        name, kind = "smime.p7m", "enveloped-data"
        if layer.encryption in (EncryptionAlg.AES128_GCM, EncryptionAlg.AES256_GCM):
            kind = "authEnveloped-data"
    der, _ = _mutate(der, mutations, index, "der")
    body = mime.encode_base64(der) if layer.base64 else der
    return mime.render(stages.smime_fields(kind, name, layer.base64), body)


def as2_headers(message: Message) -> list[tuple[str, str]]:
    """The AS2 header fields ACME's software sends with it."""
    shape = message.shape
    asks = {
        "none": {"mdn_mode": None},
        "sync": {"mdn_mode": "sync", "mdn_signing": None},
        "sync-signed": {"mdn_mode": "sync"},
        "async-signed": {"mdn_mode": "async", "async_mdn_url": "https://acme.example/as2/mdn"},
        "sync-md5-required": {"mdn_mode": "sync"},
    }[shape.mdn]
    to_us = replace(as2.RemoteParty(as2_id=STATION), **asks)  # type: ignore[arg-type]
    sender = as2.LocalParty(as2_id=shape.partner, signing=None)
    _, headers = post_headers(sender, to_us, message.message_id, "Orders", "acme@example.com")
    if shape.mdn == "sync-md5-required":
        headers["Disposition-Notification-Options"] = (
            "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, md5"
        )
    return list(headers.items())


@functools.lru_cache(maxsize=4096)
def built_layer(shape: Shape, upto: int) -> bytes:
    """The entity of layer ``upto`` (0: the documents') of the shape unbroken: what a case
    that breaks only layers after it starts from (signing and encrypting cost milliseconds)."""
    if upto == 0:
        return document_entity(shape)
    return wrap(built_layer(shape, upto - 1), shape.layers[upto - 1], (), upto)


def build(message: Message) -> Request:
    """The request: layers built inside out around the documents, each mutation applied
    where it says, the HTTP request's last."""
    shape, muts = message.shape, message.mutations
    top = len(shape.layers) + 1
    first = min((m.layer for m in muts), default=top)
    if first == 0:
        entity, _ = _mutate(document_entity(shape), muts, 0, "entity")
    else:
        entity = built_layer(shape, first - 1)
    for index in range(max(first, 1), top):
        entity = wrap(entity, shape.layers[index - 1], muts, index)
        entity, _ = _mutate(entity, muts, index, "entity")
    # The outermost entity's header fields are the request's: a mutation of the request's
    # Content-* fields is an ``entity`` mutation at the top.
    entity, _ = _mutate(entity, muts, top, "entity")
    lines, sep, body = split_head(entity)
    body, _ = _mutate(body, muts, top, "body")
    if not sep:  # a mutation took the header fields away: what is left is all body
        body = entity
        lines = []
    return Request(as2_headers(message) + request_fields(lines), body, str(message))


# -- MDNs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MdnShape:
    """ACME's MDN for our message ``SENT_ID``: a multipart/report, signed (detached or
    opaque) by ``signer`` or not signed."""

    signer: KeyName | None = "acme"
    opaque: bool = False
    disposition: str = "automatic-action/MDN-sent-automatically; processed"
    mic: str | None = "q5DsUkr8/8Vqx2M9zt3Zy4m0nWQ2n3W9eHK2ZfW9xXY=, sha256"
    base64_report: bool = False  # the disposition part base64-encoded
    sender: str = PARTNER
    to: str = STATION

    def __str__(self) -> str:
        kind = "opaque" if self.opaque else "signed"
        how = "unsigned" if self.signer is None else f"{kind}[{self.signer}]"
        return f"MDN {self.sender}->{self.to} {how} {self.disposition!r} mic={self.mic!r}"


@dataclass(frozen=True)
class Mdn:
    """Layers: 0 the disposition fields (bytes), 1 the disposition entity, 2 the report
    entity, 3 the signature (``sign``: its DER, its content, its entity), 4 the request."""

    shape: MdnShape
    mutations: tuple[Mutation, ...] = ()

    def __str__(self) -> str:
        return f"{self.shape} mutations: {', '.join(map(str, self.mutations)) or 'none'}"

    @property
    def top(self) -> int:
        return 4

    def sealed(self) -> bool:
        """Whether a mutation was made under ACME's signature (so ACME signed it)."""
        if self.shape.signer != "acme":
            return False
        return any(m.layer <= 2 for m in self.mutations)


def build_mdn(mdn: Mdn) -> Request:
    shape, muts = mdn.shape, mdn.mutations
    fields = [
        ("Reporting-UA", "ACME AS2"),
        ("Original-Recipient", f"rfc822; {shape.sender}"),
        ("Final-Recipient", f"rfc822; {shape.sender}"),
        ("Original-Message-ID", SENT_ID),
        ("Disposition", shape.disposition),
    ]
    if shape.mic:
        fields.append(("Received-Content-MIC", shape.mic))
    block = "".join(f"{k}: {v}\r\n" for k, v in fields).encode()
    block, _ = _mutate(block, muts, 0, "entity")
    encoding = "base64" if shape.base64_report else "7bit"
    report_part = mime.render(
        [("Content-Type", "message/disposition-notification"),
         ("Content-Transfer-Encoding", encoding)],
        mime.encode_base64(block) if shape.base64_report else block,
    )  # fmt: skip
    report_part, _ = _mutate(report_part, muts, 1, "entity")
    text = mime.render(
        [("Content-Type", "text/plain; charset=us-ascii")],
        f"The AS2 message {SENT_ID} has been received.\r\n".encode(),
    )
    content_type, body = mime.multipart(
        "report", [text, report_part], report_type="disposition-notification"
    )
    report = mime.render([("Content-Type", content_type)], body)
    report, _ = _mutate(report, muts, 2, "entity")
    entity = report
    if shape.signer is not None:
        layer = Layer("opaque" if shape.opaque else "sign", key=shape.signer)
        entity = wrap(report, layer, muts, 3)
        entity, _ = _mutate(entity, muts, 3, "entity")
    entity, _ = _mutate(entity, muts, 4, "entity")
    lines, sep, body = split_head(entity)
    body, _ = _mutate(body, muts, 4, "body")
    if not sep:
        body = entity
        lines = []
    headers = [
        ("AS2-Version", "1.2"),
        ("Message-ID", "<mdn-1@acme>"),
        ("AS2-From", shape.sender),
        ("AS2-To", shape.to),
        ("Subject", "Message Disposition Notification"),
        ("MIME-Version", "1.0"),
    ]
    return Request(headers + request_fields(lines), body, str(mdn))


def mdn_facts(shape: MdnShape) -> tuple[str, str, str | None]:
    """(Original-Message-ID, disposition, MIC) ACME signed, as ``parse_mdn`` reads them."""
    outcome = shape.disposition.rpartition(";")[2].strip()
    kind = "".join(outcome.partition(":")[0].split()).lower()
    disposition = kind if kind in ("processed", "processed/warning") else "failed"
    mic = (shape.mic.partition(",")[0].strip() or None) if shape.mic else None
    return SENT_ID, disposition, mic


# -- the HTTP request's own header fields ------------------------------------------------------

AS2_NAMES = (
    "Message-ID", "AS2-From", "AS2-To", "Content-Type", "MIME-Version", "AS2-Version",
    "Disposition-Notification-To", "Disposition-Notification-Options",
    "Receipt-Delivery-Option", "Content-Transfer-Encoding", "Content-Disposition", "Subject",
)  # fmt: skip
HEADER_VALUES: tuple[str, ...] = (
    "",
    " ",
    "ACME",
    '"ACME"',
    '"MY CO"',
    "EVIL",
    "MYCO",
    "<order-1@acme>",
    "order-1@acme",
    "<" + "m" * 9000 + "@acme>",
    "<\x7f\x01@acme>",
    "<ünïcødé@acme>",
    "x" * 12_000,
    "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, md5",
    "signed-receipt-protocol=optional, pkcs7-signature; "
    "signed-receipt-micalg=optional, sha-512, sha1",
    "signed-receipt-protocol=required, pgp; signed-receipt-micalg=required, sha256",
    ";;;,,,=",
    "https://acme.example/as2/mdn",
    "http://[::1",
    "javascript:alert(1)",
    "http://user:secret@acme.example/?token=x#y",
    "base64",
    'attachment; filename="../../etc/passwd"',
    "attachment; filename*=utf-8''%C3%BC%00.x12",
    "multipart/signed; boundary=x",
    "application/pkcs7-mime; smime-type=enveloped-data",
    "1.0",
    "\t folded \t value",
)


def header_op(headers: list[tuple[str, str]], op: str, args: tuple[int, ...]) -> None:
    """The request's header fields changed in place: missing, duplicated, oversized, in other
    case, with other values (as a server hands them on: one line, no CR or LF)."""
    a = (*args, 0, 0, 0)
    name = AS2_NAMES[a[0] % len(AS2_NAMES)]
    value = HEADER_VALUES[a[1] % len(HEADER_VALUES)]
    at = [i for i, (k, _) in enumerate(headers) if k.lower() == name.lower()]
    if op == "http-remove":
        headers[:] = [(k, v) for k, v in headers if k.lower() != name.lower()]
    elif op == "http-set":
        headers[:] = [(k, v) for k, v in headers if k.lower() != name.lower()]
        headers.append((name, value))
    elif op == "http-duplicate":
        headers.insert(at[0] if at and a[2] % 2 else len(headers), (name, value))
    elif op == "http-case":
        for i in at:
            k, v = headers[i]
            headers[i] = (k.upper() if a[1] % 2 else k.lower(), v)
    elif op == "http-pad":  # whitespace and obsolete folding, as a server unfolds it
        for i in at:
            k, v = headers[i]
            headers[i] = (k, ("  " + v + " \t", v.replace(" ", "  \t "))[a[1] % 2])
    elif op == "http-oversize":
        headers.append((f"X-Filler-{a[1] % 10}", "z" * (4096, 17_000, 70_000)[a[2] % 3]))


HTTP_OPS = ("http-remove", "http-set", "http-duplicate", "http-case", "http-pad", "http-oversize")


def with_header_ops(request: Request, ops: Sequence[tuple[str, tuple[int, ...]]]) -> Request:
    headers = list(request.headers)
    for op, args in ops:
        header_op(headers, op, args)
    described = request.description + "".join(f" {op}{list(args)}" for op, args in ops)
    return Request(headers, request.body, described)
