"""What a message's page offers to download, and why one is not there: the answer of a
download link followed anyway (a bookmark, a link passed on) says what the page says."""

from __future__ import annotations

from typing import Any

#: The downloads a message may have: its (first) document, the AS2 message as sent or
#: received, and the partner's MDN as received.
DOWNLOADS = ("document", "message", "mdn")


def why_missing(detail: dict[str, Any], what: str) -> str:
    """Why message ``detail`` (tracklog-svc's) has no ``what`` of DOWNLOADS to download."""
    refused, inbound = detail["status"] == "rejected", detail["direction"] == "inbound"
    if what == "mdn":
        return "no signed receipt was received for this message"
    if refused and not inbound:  # outbound-svc refused the send request at once
        return "the request was refused before anything was sent"
    if what == "message":
        if refused:  # inbound-svc keeps the copy as received of delivered messages only
            return "a refused message is not kept, so that a stranger cannot fill the object store"
        return "it was not kept when it was exchanged"
    if not inbound:  # sent inline: outbound-svc keeps it, by the Message-ID not known yet
        return (
            "it was sent inline and the track log has no Message-ID to ask outbound-svc for it by"
        )
    if refused:
        return "the message was refused, so no document was handed on"
    # Only later events of it (a duplicate, our MDN): its receipt is older than the history.
    return "the track log has no record of its receipt"
