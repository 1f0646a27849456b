"""Why a message failed or was refused, for its page: the cause of its code, told more exactly
when the message's own facts say more (which AS2 ID is unknown; a receipt that, though
unsigned, says the partner processed the document)."""

from __future__ import annotations

from typing import Any

from as2bus.console.domain.causes import PROCESSED_UNSIGNED, Cause, cause_of
from as2bus.console.domain.party_causes import PARTY_CODES, party_cause
from as2bus.shared.party_names import PartyCheck


def message_cause(detail: dict[str, Any], parties: PartyCheck | None = None) -> Cause | None:
    """``detail``: tracklog-svc's message; ``parties``: what is known of its station and
    partner when it was refused for them (``parties_in_question``)."""
    if detail["status"] not in ("failed", "rejected"):
        return None
    code = detail.get("error_code")
    if code in PARTY_CODES and parties is not None:
        return party_cause(code, parties)
    if reported_processed(detail):
        return PROCESSED_UNSIGNED
    return cause_of(code)


def parties_in_question(detail: dict[str, Any]) -> tuple[str, str] | None:
    """The station and partner AS2 IDs of a message refused for having no partnership, whose
    advice depends on which of them we have; None for any other message."""
    station, partner = detail.get("station"), detail.get("partner")
    if detail.get("error_code") in PARTY_CODES and station and partner:
        return station, partner
    return None


def reported_processed(detail: dict[str, Any]) -> bool:
    """A message failed only for its receipt's missing signature, whose receipt says processed
    with the MIC of what we sent: resending it would most likely deliver it twice."""
    return (
        detail.get("error_code") == "mdn-unsigned"
        and detail["status"] == "failed"
        and str(detail.get("mdn_disposition") or "").startswith("processed")
        and detail.get("mic_matches") is True
    )
