"""The AS2 codec: build and parse AS2 messages and MDNs (RFC 4130, S/MIME, RFC 8098).

Built on pyas2lib, which only ``_pyas2lib`` imports; everything else in as2bus uses this
surface. The workarounds for pyas2lib's known defects live in the codec, each with a test.

    build_message(payload, sender=LocalParty, receiver=RemoteParty, ...) -> OutgoingMessage
    summarize_request(headers) -> RequestSummary            # never raises
    parse_message(headers, body, lookup=..., ...) -> ReceivedMessage    # raises As2Error
    parse_spooled(headers, file, lookup=..., ...) -> ReceivedMessage | None  # large, on disk
    build_mdn(request, local=..., error=..., warning=...) -> OutgoingMdn
    is_mdn(headers, body) -> bool
    parse_mdn(headers, body, verify_certs=[...]) -> ReceivedMdn          # raises MdnError
    compute_mic(content, alg) -> str

A document too large to hold is built with ``streaming.Streamer`` (read twice in chunks:
digest, then body) and received with ``parse_spooled`` (from a file, in bounded memory).
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
from as2bus.as2.model import (
    As2Error,
    Disposition,
    KeyPair,
    LocalParty,
    MdnError,
    MdnRequest,
    Modifier,
    OutgoingMdn,
    OutgoingMessage,
    PartyLookup,
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
    "Disposition",
    "KeyPair",
    "LocalParty",
    "MdnError",
    "MdnRequest",
    "Modifier",
    "OutgoingMdn",
    "OutgoingMessage",
    "PartyLookup",
    "ReceivedMdn",
    "ReceivedMessage",
    "RemoteParty",
    "RequestSummary",
    "SpooledPayload",
    "UnknownPartyError",
    "build_mdn",
    "build_message",
    "compute_mic",
    "is_mdn",
    "parse_mdn",
    "parse_message",
    "parse_spooled",
    "summarize_request",
]
