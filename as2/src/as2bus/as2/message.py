"""Building AS2 messages: our MIME, our CMS (``cms_write``), one path for every document.

A message is a chain of stages around the document, inside out: the document's own MIME entity
(``Content-Transfer-Encoding: binary`` or base64, so it arrives byte for byte whatever its type
and line endings), then as the partnership says CompressedData, multipart/signed,
CompressedData, EnvelopedData / AuthEnvelopedData, each in its own entity. The document goes
through the chain in chunks, once or twice, and is never held whole.

Several documents (RFC 6362 multiple attachments) go as one multipart/related entity, the first
document its root part: the chain is the same around it, so the MIC covers the whole
multipart/related. Its stage is given the documents one after the other, in chunks that need not
stop where a document does, and writes each part's header fields and delimiter at its offset.

The exact body length must be known before sending (partners get a Content-Length, not
chunked encoding, which many AS2 servers refuse). Two paths:

* **One reading** (``Streamer.single_pass``: no compression, no canonicalized line ends):
  every length is known before the document is read. The signature part's is too: the
  digest has the hash's size, the signed attributes fixed widths, an RSA signature (PKCS#1
  v1.5 or PSS, the only kinds we write) the modulus's size (``cms_write.signed_data_length``).
  ``Streamer.plan_ahead()`` gives the plan at once; the one reading, ``plan.encoder()``'s,
  digests the content as it goes by, looks for the boundaries, and signs at the end: the
  plan's ``mic`` is known once an encoder finished. A document holding a boundary (never
  seen: ``stages.BoundaryInContentError``) fails that reading, hence that attempt; the next
  attempt is built anew, with new boundaries.
* **Two readings** (compression: its length is the compressed data's; canonical line ends:
  its length is the document's after them; any key whose signatures vary in length would be
  here too, but the codec signs with RSA only):
  1. ``Streamer.digest(chunk)`` for every chunk: the stages whose bytes must be known before
     the body is written run here: compression, whose length is counted (zlib writes the
     same bytes again in the second reading), and the signature around or inside it (the MIC;
     one signature, so that what compresses it compresses the same twice);
  2. ``Streamer.plan()``: the signature, the framing and the CMS headers;
  3. per attempt, ``plan.encoder()``: ``head()``, ``update(chunk)`` (or ``pieces(chunk)``,
     the same bytes unjoined) for every chunk, ``finish()``.

``digest``/``plan`` work for every message (one reading more than needed when
``single_pass``). ``build_message`` is the same path for a document in memory, in one reading
when it can. ``streaming`` is the import path outbound-svc uses for the same classes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate

from as2bus.as2 import mime
from as2bus.as2.algorithms import (
    Compression,
    SigningAlg,
    TransferEncoding,
)
from as2bus.as2.headers import USER_AGENT, quote_as2_name
from as2bus.as2.mic import mic_of, micalg_name
from as2bus.as2.model import (
    Attachment,
    AttachmentInfo,
    LocalParty,
    OutgoingMessage,
    PartnershipConfigError,
    RemoteParty,
)
from as2bus.as2.stages import (
    Base64,
    Canonicalize,
    Compress,
    Encoder,
    Encrypt,
    Frame,
    Related,
    Sign,
    Stage,
    leaf_fields,
    signed_params,
    smime_fields,
)

AS2_VERSION = "1.2"  # 1.1 plus compression (RFC 5402); a partner may be sent an older one
#: We resend with the same Message-ID and detect duplicates: AS2 Reliability (RFC 6017); we
#: read messages of several documents (RFC 6362).
EDIINT_FEATURES = "AS2-Reliability, multiple-attachments"
#: How much of an in-memory document ``build_message`` puts through the stages at a time.
CHUNK = 1 << 20
_CRLF = b"\r\n"


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@as2bus>"


def document_content_id(message_id: str) -> str:
    """The Content-ID of a message's one document, from its Message-ID.

    RSA PKCS#1 v1.5 signatures are deterministic and CMS's signing time counts whole
    seconds, so the same document sent twice within a second was signed into the same bytes,
    and a partner's replay protection (ours too) held the second message back as a replay.
    The Content-ID makes each message's signed entity its own (several documents already
    differ by their multipart/related boundary); derived, not random, so that a message
    built again for a retry keeps its MIC.
    """
    return f"<document.{message_id.strip('<>')}>"


@dataclass(frozen=True)
class StreamPlan:
    message_id: str
    headers: dict[str, str]  # the POST's headers, Content-Length included
    length: int  # the body's exact length
    mic_alg: SigningAlg | None  # the MIC's, when the MDN is to return one
    _new_encoder: Callable[[], Encoder] = field(repr=False)
    _sign: Sign | None = field(default=None, repr=False)  # the digest, once read

    def encoder(self) -> Encoder:
        """A fresh encoder: every attempt encrypts with a new key."""
        return self._new_encoder()

    @property
    def mic(self) -> str | None:
        """Expected in the MDN (as OutgoingMessage.mic); None when no signed MDN is asked
        for. A plan made ahead knows it once an encoder's reading finished: RuntimeError
        before (a MIC cannot be recorded for a body not yet sent whole)."""
        if self.mic_alg is None:
            return None
        if self._sign is None or self._sign.digest is None:
            raise RuntimeError("the MIC is known once the whole body was written")
        return mic_of(self._sign.digest)


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
        attachments: Sequence[AttachmentInfo] = (),
    ) -> None:
        check_sides(sender, receiver, content_type=content_type, subject=subject)
        if attachments and receiver.canonicalize_line_endings:
            raise ValueError(
                f"canonicalize_line_endings for {receiver.as2_id} applies to one document: "
                "a message of several documents (RFC 6362) is sent with it off, or not at all"
            )
        sizes = [size, *(attachment.size for attachment in attachments)]
        if min(sizes) < 0:
            raise ValueError(f"a document cannot have a negative size: {sizes}")
        self._size = sum(sizes)
        self._receiver = receiver
        self._mid, self._headers = post_headers(sender, receiver, message_id, subject, receipt_to)
        b64 = receiver.encoding == TransferEncoding.BASE64
        self._stages: list[Stage] = [Canonicalize()] if receiver.canonicalize_line_endings else []
        if b64:
            self._stages.append(Base64())
        self._fields = leaf_fields(content_type, b64, filename)
        if not attachments:
            self._fields.append(("Content-ID", document_content_id(self._mid)))
        related = None
        if attachments:
            parts = [(size, self._fields)]
            for attachment in attachments:
                mime.check_header_value("content_type", attachment.content_type)
                fields = leaf_fields(attachment.content_type, b64, attachment.filename)
                parts.append((attachment.size, fields))
            boundary = mime.new_boundary()
            related = Related(parts, b64, boundary)
            root = content_type.split(";")[0].strip()
            self._stages = [related]
            related_type = mime.with_params("multipart/related", boundary=boundary, type=root)
            self._fields = [("Content-Type", related_type)]
        self._sign: Sign | None = None
        if receiver.compression == Compression.BEFORE_SIGNING:
            self._enclose(Compress(), "compressed-data", "smime.p7z", b64)
        if receiver.signing is not None:
            assert sender.signing is not None  # check_sides
            boundary = mime.new_boundary()
            params = {**signed_params(receiver.signing), "boundary": boundary}
            scheme = receiver.signature_scheme
            self._sign = Sign(receiver.signing, sender.signing, scheme, boundary)
            self._stages += [Frame(mime.render(self._fields, b"")), self._sign]
            self._fields = [("Content-Type", mime.with_params("multipart/signed", **params))]
        if receiver.compression == Compression.AFTER_SIGNING:
            self._enclose(Compress(), "compressed-data", "smime.p7z", b64)
        if receiver.encryption is not None:
            assert receiver.encrypt_cert is not None  # check_sides
            encrypt = Encrypt(receiver.encryption, receiver.encrypt_cert, receiver.key_transport)
            self._enclose(encrypt, "enveloped-data", "smime.p7m", b64)
        self._related = related
        #: Whether ``plan_ahead`` can be used: every length known before reading.
        self.single_pass = all(stage.sized_ahead for stage in self._stages)
        self._first: Encoder | None = None
        self._plan: StreamPlan | None = None

    def _enclose(self, stage: Stage, kind: str, name: str, b64: bool) -> None:
        """The entity so far as the content of ``stage``, in an entity of its own."""
        self._stages += [Frame(mime.render(self._fields, b"")), stage]
        if b64:
            self._stages.append(Base64())
        self._fields = smime_fields(kind, name, b64)

    def _first_reading(self) -> Encoder:
        """The stages up to the last measured one (a Related alone only checks)."""
        if self._first is None:
            if self._plan is not None:
                raise ValueError("the plan was made ahead: the document is read once, to send")
            measured = [i for i, stage in enumerate(self._stages) if stage.measured]
            first = self._stages[: measured[-1] + 1] if measured else []
            if self._related is not None and len(first) == 1:
                self._first = Encoder([self._related.checker()])
            else:
                self._first = Encoder([stage.start() for stage in first])
            self._first.head()
        return self._first

    def digest(self, chunk: bytes) -> None:
        """Feed the document, in order, once (then each attachment's, with no need to cut
        the chunks where one ends)."""
        for _ in self._first_reading().pieces(chunk):
            pass  # this reading's bytes only feed the measured stages

    def plan(self) -> StreamPlan:
        """Everything but the document's bytes, once the document went through ``digest``."""
        if self._plan is None:
            self._first_reading().finish()
            self._plan = self._make_plan()
        return self._plan

    def plan_ahead(self) -> StreamPlan:
        """The plan before any reading (``single_pass`` only): the document is read once,
        by each encoder, as it is sent; the plan's ``mic`` once one got to the end."""
        if not self.single_pass:
            raise ValueError(
                "compression and canonical line ends make the length known only after a "
                "first reading: digest() every chunk, then plan()"
            )
        if self._first is not None:
            raise ValueError("a first reading was started: finish it with plan()")
        if self._plan is None:
            self._plan = self._make_plan()
        return self._plan

    def _make_plan(self) -> StreamPlan:
        length = self._size
        for stage in self._stages:
            length = stage.size(length)
        stages = list(self._stages)
        headers = {**self._headers, **dict(self._fields), "Content-Length": str(length)}
        returned = self._sign is not None and mdn_returns_mic(self._receiver)
        return StreamPlan(
            message_id=self._mid,
            headers=headers,
            length=length,
            mic_alg=self._receiver.signing if returned else None,
            _new_encoder=lambda: Encoder([stage.start() for stage in stages]),
            _sign=self._sign,
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
    attachments: Sequence[Attachment] = (),
) -> OutgoingMessage:
    """Compress, sign, compress, encrypt as the partnership says; headers for the POST. The
    ``Streamer`` path, the document put through in ``CHUNK`` pieces. ``attachments``: more
    documents, sent with the first in a multipart/related (RFC 6362)."""
    documents = [payload, *(attachment.payload for attachment in attachments)]
    infos = [AttachmentInfo(len(a.payload), a.filename, a.content_type) for a in attachments]
    streamer = Streamer(
        len(payload),
        sender=sender,
        receiver=receiver,
        filename=filename,
        content_type=content_type,
        subject=subject,
        message_id=message_id,
        receipt_to=receipt_to,
        attachments=infos,
    )
    pieces = [(document, i) for document in documents for i in range(0, len(document), CHUNK)]
    if streamer.single_pass:
        plan = streamer.plan_ahead()
    else:
        for document, i in pieces:
            streamer.digest(document[i : i + CHUNK])
        plan = streamer.plan()
    encoder = plan.encoder()
    body = b"".join(
        [
            encoder.head(),
            *(encoder.update(document[i : i + CHUNK]) for document, i in pieces),
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
    """PartnershipConfigError when the partnership cannot be sent as configured; ValueError
    when ``content_type`` or ``subject`` cannot be a header."""
    if receiver.signing is not None and sender.signing is None:
        raise PartnershipConfigError(
            f"signing for {receiver.as2_id} needs a key of {sender.as2_id} in service"
        )
    if receiver.encryption is not None and receiver.encrypt_cert is None:
        raise PartnershipConfigError(f"encrypting for {receiver.as2_id} needs its certificate")
    if receiver.mdn_mode == "async" and not receiver.async_mdn_url:
        raise PartnershipConfigError(f"an async MDN from {receiver.as2_id} needs async_mdn_url")
    if receiver.as2_version == "1.0" and receiver.compression != Compression.NONE:
        raise PartnershipConfigError(
            f"compression for {receiver.as2_id} needs AS2 1.1 or later, not its as2_version 1.0"
        )
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
        "AS2-Version": receiver.as2_version,
        "EDIINT-Features": EDIINT_FEATURES,
        "Message-ID": mime.check_header_value("message_id", mid),
        "AS2-From": quote_as2_name(sender.as2_id),
        "AS2-To": quote_as2_name(receiver.as2_id),
        "Subject": subject,
        "Date": formatdate(usegmt=True),
        "MIME-Version": "1.0",
        "User-Agent": USER_AGENT,
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


def mdn_returns_mic(receiver: RemoteParty) -> bool:
    """The MIC is only worth expecting when the MDN that returns it is signed."""
    return receiver.mdn_mode is not None and receiver.mdn_signing is not None
