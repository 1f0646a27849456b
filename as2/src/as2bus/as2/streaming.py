"""Building an AS2 message around a document that is never held in memory whole.

``build_message`` needs the document as bytes and holds it in several forms at once (about 6x
its size at the peak). For large documents the codec reads the document twice instead:

1. ``Streamer.digest(chunk)`` for every chunk: the MIC digest of the document's MIME entity;
2. ``Streamer.plan()``: the signature over that digest, the multipart framing and the
   EnvelopedData header, so the exact body length is known before sending (partners get a
   Content-Length, not chunked encoding, which many AS2 servers refuse);
3. per attempt, ``plan.encoder()``: ``head()``, ``update(chunk)`` for every chunk, ``finish()``.

The bytes are the ones ``build_message`` writes for the same partnership (tests compare the
decrypted content byte for byte), in binary or base64 transfer encoding. Compression does not
stream; ``streams(receiver)`` tells, and the caller uses ``build_message`` for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from as2bus.as2 import cms_write, mime
from as2bus.as2.algorithms import Compression, SigningAlg, TransferEncoding
from as2bus.as2.message import (
    check_sides,
    expected_mic,
    leaf_fields,
    post_headers,
    signature_part,
    signed_params,
    smime_type,
)
from as2bus.as2.mic import mic_of
from as2bus.as2.model import LocalParty, RemoteParty


def streams(receiver: RemoteParty) -> bool:
    """Whether this partnership's messages can be built without holding the document."""
    return receiver.compression == Compression.NONE


class BoundaryInContentError(ValueError):
    """The document contains the boundary chosen for it (never seen: 128 random bits)."""


@dataclass
class Encoder:
    """The body of one attempt: ``head()``, then ``update`` per document chunk, ``finish()``.
    With base64 transfer encoding the document is encoded as it passes (``document``), and so
    is the EnvelopedData around it (``outer``)."""

    prefix: bytes
    suffix: bytes
    encryptor: cms_write.Encryptor | None
    document: mime.Base64Lines | None = None
    outer: mime.Base64Lines | None = None

    def head(self) -> bytes:
        if self.encryptor is None:
            return self.prefix
        return self._out(self.encryptor.head + self.encryptor.update(self.prefix))

    def update(self, chunk: bytes) -> bytes:
        if self.document is not None:
            chunk = self.document.update(chunk)
        return chunk if self.encryptor is None else self._out(self.encryptor.update(chunk))

    def finish(self) -> bytes:
        rest = self.document.finish() if self.document is not None else b""
        if self.encryptor is None:
            return rest + self.suffix
        sealed = self.encryptor.update(rest + self.suffix) + self.encryptor.finish()
        return self._out(sealed) + (self.outer.finish() if self.outer is not None else b"")

    def _out(self, data: bytes) -> bytes:
        return data if self.outer is None else self.outer.update(data)


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
        if not streams(receiver):
            raise ValueError(f"messages to {receiver.as2_id} cannot be streamed (see streams())")
        check_sides(sender, receiver, content_type=content_type, subject=subject)
        self._size = size
        self._sender = sender
        self._receiver = receiver
        self._mid, self._headers = post_headers(sender, receiver, message_id, subject, receipt_to)
        self._base64 = receiver.encoding == TransferEncoding.BASE64
        self._leaf_fields = leaf_fields(content_type, self._base64, filename)
        self._leaf_head = mime.render(self._leaf_fields, b"")
        # What the document becomes in its entity (base64 adds about a third, in lines).
        self._body_size = mime.Base64Lines.length(size) if self._base64 else size
        self._digest_base64 = mime.Base64Lines() if self._base64 else None
        self._boundary = mime.new_boundary()
        self._marker = b"--" + self._boundary.encode()
        self._tail = b""  # the end of the previous chunk, to find a marker split across two
        alg = receiver.signing
        self._hash = hashlib.new(alg.value, self._leaf_head) if alg else None

    def digest(self, chunk: bytes) -> None:
        """Feed the document, in order, once."""
        if self._hash is not None:
            if self._digest_base64 is not None:
                chunk = self._digest_base64.update(chunk)
            self._hash.update(chunk)
            keep = len(self._marker) - 1
            if self._marker in chunk or self._marker in self._tail + chunk[:keep]:
                raise BoundaryInContentError("the document contains its MIME boundary")
            self._tail = (self._tail + chunk[-keep:])[-keep:]

    def plan(self) -> StreamPlan:
        """Everything but the document's bytes, once the document went through ``digest``."""
        receiver, mic = self._receiver, None
        leaf = self._leaf_head
        prefix, suffix, content_fields = b"", b"", self._leaf_fields  # unsigned, unencrypted
        if receiver.signing is not None and self._hash is not None:
            assert self._sender.signing is not None
            if self._digest_base64 is not None:
                self._hash.update(self._digest_base64.finish())
            digest = self._hash.digest()
            mic = mic_of(digest)
            params = {**signed_params(receiver.signing), "boundary": self._boundary}
            content_fields = [("Content-Type", mime.with_params("multipart/signed", **params))]
            der = cms_write.sign_digest(digest, receiver.signing, self._sender.signing)
            marker = self._marker
            prefix = marker + b"\r\n" + leaf
            suffix = b"\r\n" + marker + b"\r\n" + signature_part(der) + b"\r\n" + marker + b"--\r\n"
        elif receiver.encryption is not None:
            prefix = leaf
        encryption, cert = receiver.encryption, receiver.encrypt_cert
        if encryption is not None and cert is not None and receiver.signing is not None:
            # Encrypted, the plain content is a whole MIME entity: its header, then the body.
            prefix = mime.render(content_fields, prefix)
        plain = len(prefix) + self._body_size + len(suffix)
        length = plain
        b64 = self._base64

        def new_encoder() -> Encoder:
            encryptor = outer = None
            if encryption is not None and cert is not None:
                encryptor = cms_write.Encryptor(encryption, cert, plain)
                outer = mime.Base64Lines() if b64 else None
            document = mime.Base64Lines() if b64 else None
            return Encoder(prefix, suffix, encryptor, document, outer)

        if encryption is not None and cert is not None:
            length = cms_write.Encryptor(encryption, cert, plain).length  # same every attempt
            length = mime.Base64Lines.length(length) if b64 else length
            content_fields = leaf_fields(
                smime_type("enveloped-data", "smime.p7m"), b64, "smime.p7m"
            )

        headers = {**self._headers, **dict(content_fields), "Content-Length": str(length)}
        expect = expected_mic(receiver, mic)
        return StreamPlan(
            message_id=self._mid,
            headers=headers,
            length=length,
            mic=expect,
            mic_alg=receiver.signing if expect else None,
            _new_encoder=new_encoder,
        )
