"""The TrackLog's Status filter: one status, or a group of them as the dashboard counts them.

The URL carries the statuses joined by commas (``status=failed,rejected``): one parameter, so
every link the page builds carries it as it carries any other filter, and tracklog-svc is
asked for each (its ``status`` repeated)."""

from __future__ import annotations

from dataclasses import dataclass

from as2bus.console.domain.dashboard import FAILED

STATUSES = ("queued", "sending", "sent", "retrying", "delivered", "delivered-with-warnings",
            "failed", "rejected", "received", "mdn-sent", "duplicate")  # fmt: skip
#: Groups an operator asks for at once, by what they mean to them.
GROUPS = (
    ("failed or refused", FAILED),  # refused: a send request turned down before sending
    ("on its way", ("queued", "sending", "sent", "retrying")),
    ("delivered, with or without warnings", ("delivered", "delivered-with-warnings")),
)


@dataclass(frozen=True)
class StatusChoice:
    value: str  # as the URL carries it
    label: str
    selected: bool


def statuses_of(value: str | None) -> list[str]:
    """The statuses a Status value asks for, in its order: "failed,rejected" is two."""
    return [s for s in (part.strip() for part in (value or "").split(",")) if s]


def status_choices(value: str | None) -> list[StatusChoice]:
    """The select's options after "any": the groups, then each status; the one ``value``
    asks for selected, whatever its order. A combination no option offers (a hand-made
    link) is offered too, so the form sent again still asks for it."""
    asked = set(statuses_of(value))
    options = [(",".join(group), label) for label, group in GROUPS]
    options += [(s, s.replace("-", " ")) for s in STATUSES]
    choices = [StatusChoice(v, label, set(v.split(",")) == asked) for v, label in options]
    if asked and not any(c.selected for c in choices):
        shown = " or ".join(s.replace("-", " ") for s in statuses_of(value))
        choices.append(StatusChoice(",".join(statuses_of(value)), shown, True))
    return choices
