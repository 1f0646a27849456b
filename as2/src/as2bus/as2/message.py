"""Building AS2 messages: our MIME, our CMS (``cms_write``), one path for every document.

A message is a chain of stages around the document, inside out: the document's own MIME entity
(``Content-Transfer-Encoding: binary`` or base64, so it arrives byte for byte whatever its type
and line endings), then as the partnership says CompressedData, multipart/signed,
CompressedData, EnvelopedData / AuthEnvelopedData, each in its own entity. The document goes
through the chain in chunks, twice, and is never held whole:

1. ``Streamer.digest(chunk)`` for every chunk: the stages whose bytes must be known before the
   body is written run here: the signature's digest (the MIC), and compression, whose length
   is counted (zlib writes the same bytes again in the second reading);
2. ``Streamer.plan()``: the signature, the framing and the CMS headers, so the exact body
   length is known before sending (partners get a Content-Length, not chunked encoding,
   which many AS2 servers refuse);
3. per attempt, ``plan.encoder()``: ``head()``, ``update(chunk)`` for every chunk, ``finish()``.

``build_message`` is that path for a document in memory. ``streaming`` is the import path
outbound-svc uses for the same classes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import ClassVar, Protocol

from as2bus.as2 import cms, cms_write, mime
from as2bus.as2.algorithms import (
    Compression,
    EncryptionAlg,
    KeyTransport,
    SignatureScheme,
    SigningAlg,
    TransferEncoding,
)
from as2bus.as2.headers import quote_as2_name
from as2bus.as2.mic import mic_of, micalg_name
from as2bus.as2.model import KeyPair, LocalParty, OutgoingMessage, RemoteParty

AS2_VERSION = "1.2"  # 1.1 plus compression (RFC 5402)
#: We resend with the same Message-ID and detect duplicates: AS2 Reliability (RFC 6017).
EDIINT_FEATURES = "AS2-Reliability"
#: How much of an in-memory document ``build_message`` puts through the stages at a time.
CHUNK = 1 << 20
_CRLF = b"\r\n"

Fields = list[tuple[str, str]]


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@as2bus>"


def smime_type(kind: str, name: str) -> str:
    return mime.with_params("application/pkcs7-mime", smime_type=kind, name=name)


def leaf_fields(content_type: str, base64: bool, filename: str | None) -> Fields:
    """The header fields of an entity: the document's own, or a CMS one (``smime.p7m``)."""
    fields = [("Content-Type", content_type)]
    fields.append(("Content-Transfer-Encoding", "base64" if base64 else "binary"))
    if filename:
        fields.append(("Content-Disposition", mime.with_params("attachment", filename=filename)))
    return fields


def _smime_fields(kind: str, name: str, base64: bool) -> Fields:
    return leaf_fields(smime_type(kind, name), base64, name)


def signature_part(der: bytes) -> bytes:
    """The second part of a multipart/signed: the detached SignedData."""
    return mime.render(
        [
            ("Content-Type", mime.with_params("application/pkcs7-signature", name="smime.p7s")),
            ("Content-Transfer-Encoding", "base64"),
            ("Content-Disposition", mime.with_params("attachment", filename="smime.p7s")),
        ],
        mime.encode_base64(der),
    )


def signed_params(alg: SigningAlg) -> dict[str, str]:
    return {"protocol": "application/pkcs7-signature", "micalg": micalg_name(alg)}


def signed_multipart(
    entity: bytes,
    alg: SigningAlg,
    pair: KeyPair,
    scheme: SignatureScheme = SignatureScheme.PKCS1V15,
) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart/signed over the exact bytes of ``entity`` (an MDN:
    small, in memory)."""
    signature = signature_part(cms.sign(entity, alg, pair, scheme))
    return mime.multipart("signed", [entity, signature], **signed_params(alg))


# -- the stages ------------------------------------------------------------------------------


class Run(Protocol):
    """One stage during one reading of the document: what it writes before, for, and after."""

    def head(self) -> bytes: ...
    def update(self, data: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class _Stage(Protocol):
    #: Whether its bytes are needed in the first reading (digested, or counted).
    measured: ClassVar[bool]

    def start(self) -> Run: ...
    def size(self, inner: int) -> int: ...


@dataclass(frozen=True)
class Frame:
    """``prefix`` + the content + ``suffix``: MIME header fields, multipart delimiters."""

    prefix: bytes
    suffix: bytes = b""
    measured: ClassVar[bool] = False

    def start(self) -> Frame:
        return self

    def size(self, inner: int) -> int:
        return len(self.prefix) + inner + len(self.suffix)

    def head(self) -> bytes:
        return self.prefix

    def update(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return self.suffix


class _Base64Run(mime.Base64Lines):
    def head(self) -> bytes:
        return b""


class _Base64:
    """Content-Transfer-Encoding: base64, in 76-character lines."""

    measured: ClassVar[bool] = False

    def start(self) -> Run:
        return _Base64Run()

    def size(self, inner: int) -> int:
        return mime.Base64Lines.length(inner)


class _Compress:
    """CompressedData. The first reading counts the zlib bytes; the second writes them again
    (and checks they came out the same)."""

    measured: ClassVar[bool] = True

    def __init__(self) -> None:
        self.deflated: int | None = None

    def start(self) -> Run:
        return _CompressRun(self)

    def size(self, inner: int) -> int:
        assert self.deflated is not None, "sized before the first reading"
        return cms_write.Compressor.length(self.deflated)


class _CompressRun:
    def __init__(self, stage: _Compress) -> None:
        self._stage = stage
        self._compressor = cms_write.Compressor(expect=stage.deflated)

    def head(self) -> bytes:
        return self._compressor.head

    def update(self, data: bytes) -> bytes:
        return self._compressor.update(data)

    def finish(self) -> bytes:
        out = self._compressor.finish()
        if self._stage.deflated is None:
            self._stage.deflated = self._compressor.deflated
        return out


class BoundaryInContentError(ValueError):
    """The document contains the boundary chosen for it (never seen: 128 random bits)."""


class _Sign:
    """multipart/signed around the content. The first reading digests it (and makes sure the
    boundary is not in it) and signs; the second only frames it."""

    measured: ClassVar[bool] = True

    def __init__(
        self, alg: SigningAlg, pair: KeyPair, scheme: SignatureScheme, boundary: str
    ) -> None:
        self.alg, self.pair, self.scheme = alg, pair, scheme
        self.marker = b"--" + boundary.encode()
        self.prefix = self.marker + _CRLF
        self.suffix: bytes | None = None
        self.digest: bytes | None = None

    def start(self) -> Run:
        return _SignRun(self) if self.suffix is None else Frame(self.prefix, self.suffix)

    def size(self, inner: int) -> int:
        assert self.suffix is not None, "sized before the first reading"
        return len(self.prefix) + inner + len(self.suffix)


class _SignRun:
    def __init__(self, stage: _Sign) -> None:
        self._stage = stage
        self._hash = hashlib.new(stage.alg.value)
        self._keep = len(stage.marker) - 1
        self._tail = b""  # the end of the previous piece, to find a marker split across two

    def head(self) -> bytes:
        return self._stage.prefix

    def update(self, data: bytes) -> bytes:
        self._hash.update(data)
        marker = self._stage.marker
        if marker in data or marker in self._tail + data[: self._keep]:
            raise BoundaryInContentError("the document contains its MIME boundary")
        self._tail = (self._tail + data[-self._keep :])[-self._keep :]
        return data

    def finish(self) -> bytes:
        stage = self._stage
        stage.digest = self._hash.digest()
        der = cms_write.sign_digest(stage.digest, stage.alg, stage.pair, scheme=stage.scheme)
        marker = stage.marker
        stage.suffix = _CRLF + marker + _CRLF + signature_part(der) + _CRLF + marker + b"--\r\n"
        return stage.suffix


class _Encrypt:
    """EnvelopedData / AuthEnvelopedData: a new content key for every ``start``."""

    measured: ClassVar[bool] = False

    def __init__(self, alg: EncryptionAlg, cert_pem: bytes, transport: KeyTransport) -> None:
        self.alg, self.cert_pem, self.transport = alg, cert_pem, transport
        self.inner: int | None = None
        self._unused: list[cms_write.Encryptor] = []  # the one made to size, for a first start

    def _encryptor(self) -> cms_write.Encryptor:
        assert self.inner is not None, "started before it was sized"
        return cms_write.Encryptor(self.alg, self.cert_pem, self.inner, self.transport)

    def start(self) -> Run:
        try:
            encryptor = self._unused.pop()  # atomic: no two attempts get the same key
        except IndexError:
            encryptor = self._encryptor()
        return _EncryptRun(encryptor)

    def size(self, inner: int) -> int:
        self.inner = inner
        encryptor = self._encryptor()
        self._unused = [encryptor]
        return encryptor.length  # the same for every key


class _EncryptRun:
    def __init__(self, encryptor: cms_write.Encryptor) -> None:
        self._encryptor = encryptor

    def head(self) -> bytes:
        return self._encryptor.head

    def update(self, data: bytes) -> bytes:
        return self._encryptor.update(data)

    def finish(self) -> bytes:
        return self._encryptor.finish()


class Encoder:
    """The document through ``runs`` (inside out): ``head()``, then ``update`` per document
    chunk, then ``finish()``; each returns the next bytes of the body."""

    def __init__(self, runs: Sequence[Run]) -> None:
        self._runs = list(runs)

    def head(self) -> bytes:
        # The outer stages write first; an inner stage's head goes through them.
        count = len(self._runs)
        return b"".join(self._push(i + 1, self._runs[i].head()) for i in reversed(range(count)))

    def update(self, chunk: bytes) -> bytes:
        return self._push(0, chunk)

    def finish(self) -> bytes:
        # The inner stages end first; what they write last goes through the outer ones.
        return b"".join(self._push(i + 1, run.finish()) for i, run in enumerate(self._runs))

    def _push(self, start: int, data: bytes) -> bytes:
        for run in self._runs[start:]:
            if not data:
                break
            data = run.update(data)
        return data


# -- the message -----------------------------------------------------------------------------


def streams(receiver: RemoteParty) -> bool:
    """Whether this partnership's messages can be built without holding the document: always
    (compression too, since it was made a stage). Kept for callers."""
    del receiver
    return True


@dataclass(frozen=True)
class StreamPlan:
    message_id: str
    headers: dict[str, str]  # the POST's headers, Content-Length included
    length: int  # the body's exact length
    mic: str | None  # expected in the MDN (as OutgoingMessage.mic)
    mic_alg: SigningAlg | None
    _new_encoder: Callable[[], Encoder] = field(repr=False)

    def encoder(self) -> Encoder:
        """A fresh encoder: every attempt encrypts with a new key."""
        return self._new_encoder()


class Streamer:
    """One message around a document of ``size`` bytes; see the module docstring."""

    def __init__(
        self,
        size: int,
        *,
        sender: LocalParty,
        receiver: RemoteParty,
        filename: str | None = None,
        content_type: str = "application/edi-x12",
        subject: str = "AS2 Message",
        message_id: str | None = None,
        receipt_to: str = "as2bus",
    ) -> None:
        check_sides(sender, receiver, content_type=content_type, subject=subject)
        self._size = size
        self._receiver = receiver
        self._mid, self._headers = post_headers(sender, receiver, message_id, subject, receipt_to)
        b64 = receiver.encoding == TransferEncoding.BASE64
        self._stages: list[_Stage] = [_Base64()] if b64 else []
        self._fields = leaf_fields(content_type, b64, filename)
        self._sign: _Sign | None = None
        if receiver.compression == Compression.BEFORE_SIGNING:
            self._enclose(_Compress(), "compressed-data", "smime.p7z", b64)
        if receiver.signing is not None:
            assert sender.signing is not None  # check_sides
            boundary = mime.new_boundary()
            params = {**signed_params(receiver.signing), "boundary": boundary}
            scheme = receiver.signature_scheme
            self._sign = _Sign(receiver.signing, sender.signing, scheme, boundary)
            self._stages += [Frame(mime.render(self._fields, b"")), self._sign]
            self._fields = [("Content-Type", mime.with_params("multipart/signed", **params))]
        if receiver.compression == Compression.AFTER_SIGNING:
            self._enclose(_Compress(), "compressed-data", "smime.p7z", b64)
        if receiver.encryption is not None:
            assert receiver.encrypt_cert is not None  # check_sides
            encrypt = _Encrypt(receiver.encryption, receiver.encrypt_cert, receiver.key_transport)
            self._enclose(encrypt, "enveloped-data", "smime.p7m", b64)
        # The first reading runs the stages up to the last measured one.
        measured = [i for i, stage in enumerate(self._stages) if stage.measured]
        first = self._stages[: measured[-1] + 1] if measured else []
        self._first = Encoder([stage.start() for stage in first])
        self._first.head()
        self._plan: StreamPlan | None = None

    def _enclose(self, stage: _Stage, kind: str, name: str, b64: bool) -> None:
        """The entity so far as the content of ``stage``, in an entity of its own."""
        self._stages += [Frame(mime.render(self._fields, b"")), stage]
        if b64:
            self._stages.append(_Base64())
        self._fields = _smime_fields(kind, name, b64)

    def digest(self, chunk: bytes) -> None:
        """Feed the document, in order, once."""
        self._first.update(chunk)

    def plan(self) -> StreamPlan:
        """Everything but the document's bytes, once the document went through ``digest``."""
        if self._plan is None:
            self._first.finish()
            self._plan = self._make_plan()
        return self._plan

    def _make_plan(self) -> StreamPlan:
        length = self._size
        for stage in self._stages:
            length = stage.size(length)
        mic = None
        if self._sign is not None:
            assert self._sign.digest is not None
            mic = mic_of(self._sign.digest)
        stages = list(self._stages)
        headers = {**self._headers, **dict(self._fields), "Content-Length": str(length)}
        expect = expected_mic(self._receiver, mic)
        return StreamPlan(
            message_id=self._mid,
            headers=headers,
            length=length,
            mic=expect,
            mic_alg=self._receiver.signing if expect else None,
            _new_encoder=lambda: Encoder([stage.start() for stage in stages]),
        )


def build_message(
    payload: bytes,
    *,
    sender: LocalParty,
    receiver: RemoteParty,
    filename: str | None = None,
    content_type: str = "application/edi-x12",
    subject: str = "AS2 Message",
    message_id: str | None = None,
    receipt_to: str = "as2bus",
) -> OutgoingMessage:
    """Compress, sign, compress, encrypt as the partnership says; headers for the POST. The
    ``Streamer`` path, the document put through in ``CHUNK`` pieces."""
    streamer = Streamer(
        len(payload),
        sender=sender,
        receiver=receiver,
        filename=filename,
        content_type=content_type,
        subject=subject,
        message_id=message_id,
        receipt_to=receipt_to,
    )
    starts = range(0, len(payload), CHUNK)
    for i in starts:
        streamer.digest(payload[i : i + CHUNK])
    plan = streamer.plan()
    encoder = plan.encoder()
    body = b"".join(
        [
            encoder.head(),
            *(encoder.update(payload[i : i + CHUNK]) for i in starts),
            encoder.finish(),
        ]
    )
    if len(body) != plan.length:
        raise RuntimeError(f"built {len(body)} bytes, not the {plan.length} planned")
    headers = {k: v for k, v in plan.headers.items() if k != "Content-Length"}
    return OutgoingMessage(
        message_id=plan.message_id,
        headers=headers,
        body=body,
        mic=plan.mic,
        mic_alg=plan.mic_alg,
    )


def check_sides(
    sender: LocalParty, receiver: RemoteParty, *, content_type: str, subject: str
) -> None:
    """ValueError when the partnership cannot be sent as configured."""
    if receiver.signing is not None and sender.signing is None:
        raise ValueError(f"signing for {receiver.as2_id} needs a key of {sender.as2_id} in service")
    if receiver.encryption is not None and receiver.encrypt_cert is None:
        raise ValueError(f"encrypting for {receiver.as2_id} needs its certificate")
    if receiver.mdn_mode == "async" and not receiver.async_mdn_url:
        raise ValueError(f"an async MDN from {receiver.as2_id} needs async_mdn_url")
    for name, value in (("content_type", content_type), ("subject", subject)):
        mime.check_header_value(name, value)


def post_headers(
    sender: LocalParty,
    receiver: RemoteParty,
    message_id: str | None,
    subject: str,
    receipt_to: str,
) -> tuple[str, dict[str, str]]:
    """(Message-ID, the AS2 headers of the POST without the body's Content-* fields)."""
    mid = f"<{message_id.strip().strip('<>')}>" if message_id else new_message_id()
    headers = {
        "AS2-Version": AS2_VERSION,
        "EDIINT-Features": EDIINT_FEATURES,
        "Message-ID": mime.check_header_value("message_id", mid),
        "AS2-From": quote_as2_name(sender.as2_id),
        "AS2-To": quote_as2_name(receiver.as2_id),
        "Subject": subject,
        "Date": formatdate(usegmt=True),
        "MIME-Version": "1.0",
    }
    if receiver.mdn_mode is not None:
        headers["Disposition-Notification-To"] = mime.check_header_value("receipt_to", receipt_to)
        if receiver.mdn_signing is not None:
            importance = "required" if receiver.mdn_signing_required else "optional"
            headers["Disposition-Notification-Options"] = (
                f"signed-receipt-protocol={importance}, pkcs7-signature; "
                f"signed-receipt-micalg={importance}, {micalg_name(receiver.mdn_signing)}"
            )
        if receiver.mdn_mode == "async":
            assert receiver.async_mdn_url is not None
            headers["Receipt-Delivery-Option"] = mime.check_header_value(
                "async_mdn_url", receiver.async_mdn_url
            )
    return mid, headers


def expected_mic(receiver: RemoteParty, mic: str | None) -> str | None:
    """The MIC is only worth expecting when the MDN that returns it is signed."""
    return mic if receiver.mdn_mode is not None and receiver.mdn_signing is not None else None
