"""The AS2 codec: build and parse AS2 messages and MDNs (RFC 4130, S/MIME, CMS, RFC 8098).

Our own, on ``cryptography`` (asn1crypto only for CMS structures ``cryptography`` has no API
for); the rest of as2bus uses this surface. One path builds and one parses, whatever the
document's size: a document is read in chunks and never held whole unless it came in memory.

    build_message(payload, sender=LocalParty, receiver=RemoteParty, ...) -> OutgoingMessage
    streaming.Streamer(size, sender=..., receiver=...)  # the same, read in chunks once or twice
    summarize_request(headers) -> RequestSummary            # never raises
    parse_message(headers, body, lookup=..., ...) -> ReceivedMessage    # raises As2Error
    parse_spooled(headers, file, lookup=..., ...) -> ReceivedMessage    # the same, from a file
    build_mdn(request, local=..., error=..., warning=...) -> OutgoingMdn
    is_mdn(headers, body) -> bool
    parse_mdn(headers, body, verify_certs=[...]) -> ReceivedMdn          # raises MdnError
    compute_mic(content, alg) -> str
    check_sides(sender, receiver, ...)  # raises PartnershipConfigError before building
"""

from as2bus.as2.codec import (
    build_mdn,
    build_message,
    compute_mic,
    is_mdn,
    parse_mdn,
    parse_message,
    summarize_request,
)
from as2bus.as2.message import check_sides
from as2bus.as2.model import (
    As2Error,
    Attachment,
    AttachmentInfo,
    Disposition,
    KeyPair,
    LocalParty,
    MdnError,
    MdnRequest,
    Modifier,
    OutgoingMdn,
    OutgoingMessage,
    PartnershipConfigError,
    PartyLookup,
    ReceivedAttachment,
    ReceivedMdn,
    ReceivedMessage,
    RemoteParty,
    RequestSummary,
    SpooledPayload,
    UnknownPartyError,
)
from as2bus.as2.spooled import parse_spooled

__all__ = [
    "As2Error",
    "Attachment",
    "AttachmentInfo",
    "Disposition",
    "KeyPair",
    "LocalParty",
    "MdnError",
    "MdnRequest",
    "Modifier",
    "OutgoingMdn",
    "OutgoingMessage",
    "PartnershipConfigError",
    "PartyLookup",
    "ReceivedAttachment",
    "ReceivedMdn",
    "ReceivedMessage",
    "RemoteParty",
    "RequestSummary",
    "SpooledPayload",
    "UnknownPartyError",
    "build_mdn",
    "build_message",
    "check_sides",
    "compute_mic",
    "is_mdn",
    "parse_mdn",
    "parse_message",
    "parse_spooled",
    "summarize_request",
]
