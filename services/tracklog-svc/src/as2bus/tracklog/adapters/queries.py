"""Reading the projection: filtered, sorted, cursor-paginated lists, one message, certificates.

Pages are cut by a cursor (the last row's sort value and id) rather than an offset: page 1,000
costs what page 1 costs, and a row that changes while someone pages does not shift the rest.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from as2bus.tracklog.adapters.repository import from_row
from as2bus.tracklog.adapters.tables import certificates, messages, processed_events, timeline
from as2bus.tracklog.certs import CertificateView
from as2bus.tracklog.domain import MessageState, utc

Sort = Literal["created_at", "updated_at"]
Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class MessageFilter:
    direction: str | None = None
    statuses: tuple[str, ...] = ()
    partner: str | None = None  # in any case
    station: str | None = None  # in any case
    message_id: str | None = None
    request_id: str | None = None
    filename: str | None = None  # a prefix, any case
    since: datetime | None = None  # bounds of the sort field: since <= value < until
    until: datetime | None = None
    replays: str | None = None  # resends of this Message-ID
    #: Free text: the start of a Message-ID (with or without its "<"), a request id (exact) or
    #: the start of a filename (any case), any of them.
    text: str | None = None
    #: True: only messages sent again since (resent); False: only those never sent again.
    resent: bool | None = None


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


class BadCursorError(ValueError):
    pass


def encode_cursor(value: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([utc(value).isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, uuid.UUID]:
    try:
        value, row_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return utc(datetime.fromisoformat(value)), uuid.UUID(row_id)
    except (ValueError, TypeError) as err:
        raise BadCursorError("not a cursor this API returned") from err


def _prefix(column: sa.ColumnElement[Any], prefix: str, dialect: str) -> sa.ColumnElement[bool]:
    """``column`` starts with ``prefix``, in a form each database answers from an index: LIKE on
    PostgreSQL (varchar_pattern_ops), GLOB on SQLite (its LIKE ignores case and the index)."""
    if dialect == "sqlite":
        escaped = "".join(f"[{c}]" if c in "*?[" else c for c in prefix)
        return column.op("GLOB")(escaped + "*")
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped + "%", escape="\\")


def _message_id_starts(text: str, dialect: str) -> list[sa.ColumnElement[bool]]:
    """A Message-ID that starts with ``text``, its angle brackets optional: its local part
    ("1764912345.123-abc") finds "<1764912345.123-abc@myco.as2bus>". A prefix, not a substring:
    the Message-ID index answers a prefix, where text from the middle would read every row."""
    bare = text.removeprefix("<").removesuffix(">")
    if not bare:
        return []  # "<" alone would be the start of every Message-ID
    column = messages.c.message_id
    return [_prefix(column, f"<{bare}", dialect), _prefix(column, bare, dialect)]


def _conditions(f: MessageFilter, sort_column: sa.Column[Any], dialect: str) -> list[Any]:
    c = messages.c
    found: list[Any] = []
    for column, value in ((c.direction, f.direction), (c.request_id, f.request_id),
                          (c.replays, f.replays)):  # fmt: skip
        if value is not None:
            found.append(column == value)
    # AS2 IDs are case-sensitive, but a person looking for DEMO-B types demo-b: the lower-cased
    # keys match either (two IDs differing only in case are listed together).
    for key, value in ((c.partner_key, f.partner), (c.station_key, f.station)):
        if value is not None:
            found.append(key == value.lower())
    if f.statuses:
        found.append(c.status.in_(f.statuses))
    if f.message_id is not None:  # with or without the angle brackets
        bare = f.message_id.strip().removeprefix("<").removesuffix(">")
        found.append(c.message_id.in_([bare, f"<{bare}>"]))
    if f.filename:
        found.append(_prefix(c.filename_key, f.filename.lower(), dialect))
    if f.text and f.text.strip():
        text = f.text.strip()
        found.append(
            sa.or_(
                *_message_id_starts(text, dialect),
                c.request_id == text,
                _prefix(c.filename_key, text.lower(), dialect),
            )
        )
    if f.resent is not None:
        again = messages.alias("again")
        resent = sa.exists().where(again.c.replays == c.message_id)
        found.append(resent if f.resent else ~resent)
    if f.since is not None:
        found.append(sort_column >= utc(f.since))
    if f.until is not None:
        found.append(sort_column < utc(f.until))
    return found


LIST_COLUMNS: list[sa.ColumnElement[Any]] = [messages.c[name] for name in (
    "id", "direction", "message_id", "request_id", "station", "partner", "filename",
    "content_type", "size", "status", "error_code", "error", "attempts", "duplicates",
    "created_at", "updated_at", "mdn_at", "time_to_mdn_ms", "replays",
)]  # fmt: skip
#: How many documents follow the first: a list says "order.edi +2" without the documents'
#: references. json_array_length is the same function on SQLite and PostgreSQL (the column
#: is JSON there, not JSONB); a message of one document has NULL (never an empty list).
LIST_COLUMNS.append(
    sa.func.coalesce(sa.func.json_array_length(messages.c.attachments), 0).label("attachment_count")
)


async def list_messages(
    session: AsyncSession,
    f: MessageFilter,
    *,
    sort: Sort = "created_at",
    order: Order = "desc",
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    column = messages.c[sort]
    dialect = session.get_bind().dialect.name
    query = sa.select(*LIST_COLUMNS).where(*_conditions(f, column, dialect))
    key = sa.tuple_(column, messages.c.id)
    if cursor is not None:
        value, row_id = decode_cursor(cursor)
        after = sa.tuple_(sa.literal(value, column.type), sa.literal(row_id, sa.Uuid()))
        query = query.where(key < after if order == "desc" else key > after)
    if order == "desc":
        query = query.order_by(column.desc(), messages.c.id.desc())
    else:
        query = query.order_by(column, messages.c.id)
    rows = [dict(r) for r in (await session.execute(query.limit(limit + 1))).mappings()]
    for row in rows:
        for name, value in row.items():
            if isinstance(value, datetime):
                row[name] = utc(value)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    await _with_resends(session, rows)
    return Page(rows, encode_cursor(last[sort], last["id"]) if last else None)


#: Where counting stops: an exact count of what a broad filter matches would read every row
#: it matches, page after page; up to this many it reads at most as many index entries.
COUNT_CAP = 10_000


async def count_messages(
    session: AsyncSession, f: MessageFilter, *, sort: Sort = "created_at", cap: int = COUNT_CAP
) -> int:
    """How many messages ``f`` matches on every page, or ``cap + 1`` when more than ``cap``
    do (``sort`` is the field since and until bound)."""
    dialect = session.get_bind().dialect.name
    conditions = _conditions(f, messages.c[sort], dialect)
    matching = sa.select(messages.c.id).where(*conditions).limit(cap + 1).subquery()
    return int(await session.scalar(sa.select(sa.func.count()).select_from(matching)) or 0)


#: A resend of a listed message, as its row in the list names it.
RESEND_COLUMNS = ("id", "message_id", "request_id", "status", "created_at")


async def _with_resends(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Each outbound row gets ``resends`` (how many times it was sent again) and
    ``last_resend`` (the newest, or None): a failure resent and delivered since says so in
    the list. One more query for the whole page (``replays`` is indexed)."""
    sent = {r["message_id"]: r for r in rows if r["direction"] == "outbound" and r["message_id"]}
    for row in rows:
        row["resends"], row["last_resend"] = 0, None
    if not sent:
        return
    c = messages.c
    query = (
        sa.select(c.replays, *(c[name] for name in RESEND_COLUMNS))
        .where(c.replays.in_(list(sent)))
        .order_by(c.created_at, c.id)
    )
    for again in (await session.execute(query)).mappings():
        original = sent[again["replays"]]
        original["resends"] += 1
        original["last_resend"] = {name: again[name] for name in RESEND_COLUMNS} | {
            "created_at": utc(again["created_at"])
        }


async def get_message(
    session: AsyncSession, ref: uuid.UUID
) -> tuple[MessageState, list[dict[str, Any]]] | None:
    found = sa.select(messages).where(messages.c.id == ref)
    row = (await session.execute(found)).mappings().first()
    if row is None:
        return None
    query = (
        sa.select(timeline)
        .where(timeline.c.message == ref)
        .order_by(timeline.c.occurred_at, timeline.c.event_id)
    )
    events = [dict(r) | {"occurred_at": utc(r["occurred_at"])} for r in
              (await session.execute(query)).mappings()]  # fmt: skip
    return from_row(MessageState, row), events


async def list_certificates(session: AsyncSession) -> list[CertificateView]:
    query = sa.select(certificates).order_by(certificates.c.not_after, certificates.c.alias)
    return [from_row(CertificateView, r) for r in (await session.execute(query)).mappings()]


async def count_events(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(processed_events)) or 0)
