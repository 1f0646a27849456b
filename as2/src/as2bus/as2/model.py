"""The AS2 codec's public types. Nothing here imports pyas2lib: the rest of as2bus speaks
these types, and only ``as2bus.as2`` knows which library does the S/MIME work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Literal

from as2bus.as2.algorithms import (
    Compression,
    EncryptionAlg,
    KeyTransport,
    SignatureScheme,
    SigningAlg,
    TransferEncoding,
)

#: RFC 4130 §7.5.3 / RFC 8098 disposition modifiers we send and recognise.
Modifier = Literal[
    "authentication-failed",
    "decryption-failed",
    "integrity-check-failed",
    "insufficient-message-security",
    "unexpected-processing-error",
    "unknown-trading-partner",
    "duplicate-document",
]
MdnMode = Literal["sync", "async"]
#: The AS2-Version we send a partner: 1.2 (ours) unless it asks for an older one; 1.0 has no
#: compression (RFC 5402 came with 1.1).
As2Version = Literal["1.0", "1.1", "1.2"]


@dataclass(frozen=True)
class KeyPair:
    """One of our keys: PKCS#8 PEM private key and its PEM certificate."""

    key_pem: bytes
    cert_pem: bytes


@dataclass(frozen=True)
class LocalParty:
    """Our side of an exchange: the station's AS2 ID and the keys in service now."""

    as2_id: str
    signing: KeyPair | None  # signs what we send and our MDNs
    decryption: list[KeyPair] = field(default_factory=list)  # tried newest first


@dataclass(frozen=True)
class RemoteParty:
    """The partner's side: its certificates and the settings of the partnership."""

    as2_id: str
    verify_certs: list[bytes] = field(default_factory=list)  # PEM; any may verify
    encrypt_cert: bytes | None = None  # PEM
    signing: SigningAlg | None = SigningAlg.SHA256  # for what we send; None = unsigned
    signature_scheme: SignatureScheme = SignatureScheme.PKCS1V15  # our signatures (and MDNs')
    encryption: EncryptionAlg | None = EncryptionAlg.AES256  # None = not encrypted
    key_transport: KeyTransport = KeyTransport.RSA_PKCS1V15  # how the content key is wrapped
    compression: Compression = Compression.NONE
    encoding: TransferEncoding = TransferEncoding.BINARY
    mdn_mode: MdnMode | None = "sync"  # what we ask of the partner; None = no MDN
    mdn_signing: SigningAlg | None = SigningAlg.SHA256  # the MDN signature we ask for
    #: Whether we ask for it as required (RFC 4130 §7.3 importance) rather than optional.
    mdn_signing_required: bool = True
    async_mdn_url: str | None = None  # where the partner should POST an async MDN
    require_signed: bool = True  # inbound: refuse unsigned messages from this partner
    require_encrypted: bool = True  # inbound: refuse unencrypted messages
    #: Every bare LF of the document as CRLF before signing (text-mode S/MIME verifiers).
    canonicalize_line_endings: bool = False
    as2_version: As2Version = "1.2"  # the AS2-Version header of the messages we send it


@dataclass(frozen=True)
class MdnRequest:
    """What the sender asked for (Disposition-Notification-* and Receipt-Delivery-Option)."""

    mode: MdnMode
    return_to: str | None  # Disposition-Notification-To
    async_url: str | None  # Receipt-Delivery-Option
    signing: SigningAlg | None  # signed-receipt-micalg, first algorithm we support
    # A *required* signed-receipt option we cannot honour (e.g. "unsupported MIC-algorithms"):
    # RFC 4130 §7.5.3 then wants "failed/Failure: <this>" rather than a processed MDN.
    failure: str | None = None


@dataclass(frozen=True)
class Attachment:
    """One more document of a message built in memory (RFC 6362 multiple attachments)."""

    payload: bytes
    filename: str | None = None
    content_type: str = "application/edi-x12"


@dataclass(frozen=True)
class AttachmentInfo:
    """One more document of a streamed message: ``size`` bytes that follow the first
    document's (and the previous attachments') in the chunks the Streamer is given."""

    size: int
    filename: str | None = None
    content_type: str = "application/edi-x12"


@dataclass(frozen=True)
class ReceivedAttachment:
    """A document of a received message after the first: in ``payload``, or for a message
    read from a file in ``payload_file`` (which may share its file with the first
    document's: the caller closes each file once)."""

    filename: str | None
    content_type: str
    payload: bytes = b""
    payload_file: SpooledPayload | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str  # with angle brackets, as in the header
    headers: dict[str, str]  # HTTP headers to POST with, AS2 ones included
    body: bytes
    mic: str | None  # base64 MIC we expect back in the MDN, or None if no signed MDN asked
    mic_alg: SigningAlg | None


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    as2_from: str
    as2_to: str
    payload: bytes
    filename: str | None
    content_type: str
    subject: str | None
    signed: bool
    encrypted: bool
    compressed: bool
    mic: str | None  # base64 of the digest over what the RFC says to digest
    mic_alg: SigningAlg | None
    mdn: MdnRequest | None  # None when the sender asked for no MDN
    #: Set instead of ``payload`` (which is then empty) when a large message was read from a
    #: file without holding it in memory: see ``spooled``.
    payload_file: SpooledPayload | None = None
    #: The partner's certificate (PEM) that verified the signature; None when unsigned.
    verified_by: bytes | None = None
    #: The documents after the first, in order (RFC 6362 multiple attachments).
    attachments: tuple[ReceivedAttachment, ...] = ()
    #: The signature's signing time (its signed attribute); None when unsigned or not given.
    signed_at: datetime | None = None
    #: A hex SHA-256 of what the signature signs (its signed attributes: the content's digest
    #: and the signing time; without any, the digest): the same for the same signed message
    #: posted again under another Message-ID, which no signature covers. None when unsigned.
    signature_key: str | None = None


@dataclass(frozen=True)
class SpooledPayload:
    """A received document kept in a file, not in memory: ``size`` bytes of ``file`` from
    ``offset``. Whoever receives it closes the file (a temporary file, gone when closed)."""

    file: BinaryIO
    offset: int
    size: int


@dataclass(frozen=True)
class RequestSummary:
    """What could be read from a message's headers even when the body could not be processed:
    enough to address a negative MDN."""

    message_id: str | None
    as2_from: str | None
    as2_to: str | None
    mdn: MdnRequest | None


@dataclass(frozen=True)
class OutgoingMdn:
    headers: dict[str, str]
    body: bytes


Disposition = Literal["processed", "processed/warning", "failed"]


@dataclass(frozen=True)
class ReceivedMdn:
    original_message_id: str
    as2_from: str | None
    as2_to: str | None
    disposition: Disposition
    modifier: str | None  # e.g. "decryption-failed", or a warning text
    text: str | None  # the human-readable part
    mic: str | None  # Received-Content-MIC, base64 digest only
    mic_alg: SigningAlg | None
    signed: bool
    signature_valid: bool | None  # None when unsigned
    verified_by: bytes | None = None  # the certificate (PEM) that verified the signature


#: The longest reason an error keeps. Ours are a line or two; what makes one longer is a
#: partner's value it quotes (a header field, a boundary, an OID: the fuzzer sent a 70 KB
#: one), cut short here so that the refusal, its MDN, its event and its log line stay
#: readable whatever was sent.
REASON_LIMIT = 1000


def shown_reason(reason: str, limit: int = REASON_LIMIT) -> str:
    """``reason`` as a person can read it whatever a partner's value it quotes holds:
    characters that do not print (control characters, a binary header field) escaped as
    ``\\x13``, and only its first ``limit`` characters, saying how long it was."""
    if not reason.isprintable():
        reason = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in reason)
    if len(reason) <= limit:
        return reason
    return f"{reason[:limit]}... ({len(reason)} characters in all)"


class As2Error(Exception):
    """A message could not be processed; ``modifier`` goes into the negative MDN."""

    def __init__(self, modifier: Modifier, reason: str) -> None:
        reason = shown_reason(reason)
        super().__init__(f"{modifier}: {reason}")
        self.modifier = modifier
        self.reason = reason


class UnknownPartyError(As2Error):
    def __init__(self, reason: str) -> None:
        super().__init__("unknown-trading-partner", reason)


class PartnershipConfigError(ValueError):
    """A message cannot be built as the partnership is set up (an async MDN without a URL for
    it, compression for AS2 1.0, ...): no attempt will change that, the configuration must."""


class MdnError(ValueError):
    """An MDN could not be read or verified (wrong signature, not an MDN, no original id)."""

    def __init__(self, reason: str) -> None:
        super().__init__(shown_reason(reason))


Headers = Mapping[str, str]
#: Given (AS2-From, AS2-To) of an incoming message, our party and the partner, or raise
#: UnknownPartyError.
PartyLookup = Callable[[str, str], tuple[LocalParty, RemoteParty]]
