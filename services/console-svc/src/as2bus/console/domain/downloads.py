"""What a message's page offers to download, and why one is not there: the answer of a
download link followed anyway (a bookmark, a link passed on) says what the page says."""

from __future__ import annotations

from typing import Any

#: The downloads a message may have: its (first) document, the AS2 message as sent or
#: received, and the partner's MDN as received.
DOWNLOADS = ("document", "message", "mdn")
#: Why inbound-svc keeps the copy as received of delivered messages only.
REFUSED_NOT_KEPT = "a refused message is not kept, so that a stranger cannot fill the object store"
#: Statuses of an outbound message the partner has not taken yet: no copy as sent is kept
#: until it does (outbound-svc stores one while it sends, and drops it when refused).
UNSENT = ("queued", "sending", "retrying")


def why_missing(detail: dict[str, Any], what: str, recorded: bool = False) -> str:
    """Why message ``detail`` (tracklog-svc's) has no ``what`` of DOWNLOADS to download;
    ``recorded``: the timeline has the request as sent or received (with no copy of it)."""
    refused, inbound = detail["status"] == "rejected", detail["direction"] == "inbound"
    if what == "mdn":
        return "no signed receipt was received for this message"
    if refused and not inbound:  # outbound-svc refused the send request at once
        return "the request was refused before anything was sent"
    if what == "message":
        if _unsent(detail, recorded):
            return f"it is {not_sent_yet(detail)}"
        if refused:  # inbound-svc keeps the copy as received of delivered messages only
            return REFUSED_NOT_KEPT
        return "it was not kept when it was exchanged"
    if not inbound:  # sent inline: outbound-svc keeps it, by the Message-ID not known yet
        return (
            "it was sent inline and the track log has no Message-ID to ask outbound-svc for it by"
        )
    if refused:
        return "the message was refused, so no document was handed on"
    # Only later events of it (a duplicate, our MDN): its receipt is older than the history.
    return "the track log has no record of its receipt"


def _unsent(detail: dict[str, Any], recorded: bool) -> bool:
    return detail["direction"] == "outbound" and detail["status"] in UNSENT and not recorded


def not_sent_yet(detail: dict[str, Any]) -> str:
    """What an UNSENT message is doing, rather than "not kept", which reads as final."""
    if detail["status"] == "sending":
        return "being sent (stored once the partner takes it)"
    return "not yet sent"


def as_sent_missing(detail: dict[str, Any], recorded: bool) -> str:
    """The Downloads line's words for a message as sent or received that cannot be
    downloaded (after "The message as sent: ")."""
    if _unsent(detail, recorded):
        return not_sent_yet(detail)
    if detail["direction"] == "outbound" and detail["status"] == "failed" and not recorded:
        return "none: the partner took no attempt"
    if detail["direction"] == "inbound" and detail["status"] == "rejected":
        return f"not kept ({REFUSED_NOT_KEPT})"
    return "not kept"
