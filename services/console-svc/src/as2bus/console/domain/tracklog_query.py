"""The TrackLog's query as its URL carries it: the filters, the browser's time zone, the sort
and the page. Every link the list offers (Export CSV, the column headers, the pages) is built
from it, and every read of tracklog-svc (the page and the CSV) asks what ``asked()`` says, so
a time range means the same everywhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from as2bus.console.domain.tracklog_statuses import statuses_of

#: The filters of the form, with the names a note about them uses.
FILTERS = {"q": "Search", "partner": "Partner", "station": "Station",
           "direction": "Direction", "status": "Status", "message_id": "Message-ID",
           "request_id": "Request id", "filename": "File", "resent": "Resent",
           "since": "From", "until": "Until"}  # fmt: skip
#: What the URL carries besides: ``tz`` is the browser's offset from UTC in minutes (as
#: getTimezoneOffset() gives it) that From and Until were typed in, on links made before the
#: page's script sent each bound with its own offset (one offset cannot hold both sides of a
#: daylight-saving change).
CARRIED = (*FILTERS, "tz", "sort", "order", "cursor")
#: The filters tracklog-svc's live stream understands (several statuses among them).
LIVE_FILTERS = ("partner", "direction", "status")
#: A datetime-local value from the form (2026-12-04T10:30): no zone, the browser's time.
_LOCAL_TIME_LENGTH = 16


@dataclass(frozen=True)
class TrackLogQuery:
    params: dict[str, str]  # non-empty, in CARRIED order

    @classmethod
    def of(cls, given: Mapping[str, str]) -> TrackLogQuery:
        """What a request asked for; unknown and empty parameters are left out."""
        return cls({k: given[k] for k in CARRIED if given.get(k)})

    @property
    def filtered(self) -> bool:
        return any(k in self.params for k in FILTERS)

    @property
    def oldest_first(self) -> bool:
        return self.params.get("order") == "asc"

    @property
    def first_page(self) -> bool:
        return "cursor" not in self.params

    def asked(self) -> dict[str, Any]:
        """What tracklog-svc is asked: the times from the form with the browser's zone, each
        status of the Status filter (``status`` repeated)."""
        asked: dict[str, Any] = self._zoned()
        if "status" in asked:
            asked["status"] = statuses_of(asked["status"])
        return asked

    def _zoned(self) -> dict[str, str]:
        zoned = {k: v for k, v in self.params.items() if k != "tz"}
        for bound in ("since", "until"):
            if len(zoned.get(bound, "")) == _LOCAL_TIME_LENGTH:
                zoned[bound] = in_zone(zoned[bound], self.params.get("tz"))
        return zoned

    def time_bounds(self) -> dict[str, str]:
        """The time range as instants (ISO with an offset): what From and Until stand for."""
        return {k: v for k, v in self._zoned().items() if k in ("since", "until")}

    def live(self) -> str:
        """The query of the live stream: the filters tracklog-svc applies to it."""
        return urlencode({k: v for k, v in self.params.items() if k in LIVE_FILTERS})

    def live_asked(self) -> dict[str, Any]:
        """What tracklog-svc's live stream is asked for this query (see ``asked``)."""
        return {k: v for k, v in self.asked().items() if k in LIVE_FILTERS}

    def without(self, names: Iterable[str]) -> TrackLogQuery:
        left_out = set(names)
        return TrackLogQuery({k: v for k, v in self.params.items() if k not in left_out})

    def link(self, path: str = "/tracklog", **changes: str) -> str:
        """``path`` with this query, ``changes`` applied; the time zone always goes along."""
        return f"{path}?{urlencode({**self.params, **changes})}"

    def export_link(self) -> str:
        return self.without(["cursor"]).link("/tracklog.csv")

    def first_page_link(self) -> str:
        return self.without(["cursor"]).link()

    def sort_link(self, column: str) -> str:
        """The link a column header sorts by: newest first, or oldest first when it already is."""
        sorted_now = self.params.get("sort", "created_at") == column and not self.oldest_first
        return self.without(["cursor"]).link(sort=column, order="asc" if sorted_now else "desc")


def in_zone(local: str, offset_minutes: str | None) -> str:
    """A datetime-local value with the browser's UTC offset, or taken as UTC without it."""
    try:
        minutes = int(offset_minutes or 0)
    except ValueError:
        minutes = 0
    sign = "-" if minutes > 0 else "+"  # getTimezoneOffset() is UTC minus local
    return f"{local}:00{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def match_count(listed: dict[str, Any], filtered: bool) -> str | None:
    """What the list says of its size from tracklog-svc's count; None when not counted, or
    none match (the empty list says so, and why)."""
    count = listed.get("count")
    if not count:
        return None
    if listed.get("count_capped"):
        return f"More than {count:,} messages{' match' if filtered else ''}"
    noun = "message" if count == 1 else "messages"
    verb = (" matches" if count == 1 else " match") if filtered else ""
    return f"{count:,} {noun}{verb}"


def refusal_notes(query: TrackLogQuery, refused: Iterable[str]) -> list[str]:
    """What the list says about the parts of a link tracklog-svc refused (a hand-edited or
    damaged link) and that it therefore leaves out."""
    notes: list[str] = []
    for name in refused:
        if name == "cursor":
            notes.append("The link to that page was damaged, so this is the first page.")
        elif name in FILTERS:
            notes.append(f'{FILTERS[name]} "{query.params[name]}" is not a value this filter '
                         "takes, so the list is not filtered by it.")  # fmt: skip
        else:  # the sort or its order
            notes.append("The link asked for an order the list does not know, so the list "
                         "keeps its usual order.")  # fmt: skip
    return list(dict.fromkeys(notes))  # the sort and its order refused: one note
