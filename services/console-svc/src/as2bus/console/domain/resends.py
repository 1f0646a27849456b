"""A message's resends, as its page and Resend's confirmation show them, and the guard that
keeps one click from giving the partner a copy nobody meant to send.

The confirmation warns when a resend already reached the partner (or is on its way) and then
asks for an explicit "Send another copy anyway". Its form carries how many resends it showed:
posted again after one more was made (the browser's Back button, a second tab, a colleague),
it is refused with a sentence instead of sending. The form's one-time token becomes the
resend's request id, so the same form posted twice before tracklog-svc records the first is
one request, which outbound-svc takes once (a repeated request id is a duplicate)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from as2bus.console.domain.in_flight import DELIVERED, IN_FLIGHT


def times(count: int) -> str:
    """How often, in words: "once", "2 times"."""
    return "once" if count == 1 else f"{count} times"


@dataclass(frozen=True)
class Resends:
    """tracklog-svc's rows of the resends of one message (``replays`` its Message-ID)."""

    items: list[dict[str, Any]]

    @classmethod
    def of(cls, rows: list[dict[str, Any]]) -> Resends:
        """Newest first, whatever order they were listed in."""
        return cls(sorted(rows, key=lambda r: r.get("created_at") or "", reverse=True))

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def how_many(self) -> str:
        return times(self.count)

    @property
    def reaching(self) -> dict[str, Any] | None:
        """The newest resend the partner got or may still get (delivered, or on its way);
        None when every resend failed or was refused (or there is none)."""
        return next((r for r in self.items if r["status"] in DELIVERED + IN_FLIGHT), None)

    @property
    def newest(self) -> dict[str, Any] | None:
        return self.items[0] if self.items else None


def named(resend: dict[str, Any]) -> str:
    """A resend as a sentence names it: its Message-ID (a request refused before it was
    given one: its request id)."""
    return str(resend.get("message_id") or resend.get("request_id") or "a new message")


#: The confirmation's checkbox, needed while a resend reached the partner or is on its way.
AGAIN_LABEL = "Send another copy anyway"


def new_token() -> str:
    """The confirmation form's one-time token: the resend's request id is made of it."""
    return str(uuid.uuid4())


def request_id_of(token: str) -> str | None:
    """The resend's request id for the form's token (as Send File names its requests); None
    for a token that is not one this console made (a damaged or forged form)."""
    try:
        return f"console-{uuid.UUID(token)}"
    except ValueError:
        return None


def refusal(resends: Resends, seen: str, token: str, again: bool) -> str | None:
    """Why a confirmation that showed ``seen`` resends may not send now, in a sentence; None
    when it may. ``token``: the form's; ``again``: "Send another copy anyway" was ticked."""
    if not seen.isdigit() or request_id_of(token) is None:
        return "the confirmation was incomplete; look at it again and confirm"
    newest = resends.newest
    if newest is not None and resends.count > int(seen):
        return (
            f"this message was resent meanwhile, as {named(newest)} ({newest['status']}); "
            "look at it before sending another copy"
        )
    if resends.reaching is not None and not again:
        return f"it was resent already: tick “{AGAIN_LABEL}” to send the partner another copy"
    return None
