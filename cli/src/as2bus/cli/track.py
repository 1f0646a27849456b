"""``as2bus track ...``: every message's status and history, the dashboard figures, and status
changes as they happen, through tracklog-svc."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import typer

from as2bus.cli import output
from as2bus.cli.client import API, CliError, CliState, ConfigClient, stored_token, token_problem
from as2bus.cli.help import new_app

DEFAULT_TRACKLOG_URL = "http://127.0.0.1:8084"
_URL, _CLIENT = "as2bus.tracklog_url", "as2bus.tracklog_client"

app = new_app(help="Message tracking (the console's TrackLog): list, show, watch, stats.")

Partner = Annotated[str | None, typer.Option(help="Only this partner's (AS2 ID).")]
Direction = Annotated[str | None, typer.Option(help="inbound or outbound.")]
Status = Annotated[
    list[str] | None, typer.Option("--status", help="Only these statuses (repeatable).")
]
Since = Annotated[str | None, typer.Option(help="From this ISO time.")]
Until = Annotated[str | None, typer.Option(help="Up to this ISO time (exclusive).")]


def _filenames(message: dict[str, Any]) -> str | None:
    """The first document's name, and how many follow it (``order.edi +2``): the column stays
    one name wide; ``track show`` has every document."""
    name: str | None = message["filename"]
    more = message.get("attachment_count") or 0  # absent from an older tracklog-svc
    return f"{name or '(no name)'} +{more}" if more else name


COLUMNS: list[output.Column] = [
    ("CREATED", lambda m: m["created_at"][:19]),
    ("DIR", lambda m: m["direction"][:3]),
    ("PARTNER", lambda m: m["partner"]),
    ("STATUS", lambda m: m["status"]),
    ("MESSAGE-ID", lambda m: m["message_id"] or f"(request {m['request_id']})"),
    ("FILENAME", _filenames),
    ("ERROR", lambda m: output.clipped(m["error"], 50)),
    ("ID", lambda m: m["id"]),
]
TIMELINE: list[output.Column] = [
    ("TIME", lambda e: e["occurred_at"][:23]),
    ("EVENT", lambda e: e["event_type"]),
    ("WHAT", lambda e: e["summary"]),
]


@app.callback()
def track(
    ctx: typer.Context,
    tracklog_url: Annotated[
        str,
        typer.Option(
            envvar="AS2BUS_TRACKLOG_URL", help="Base URL of the TrackLog API (tracklog-svc)."
        ),
    ] = DEFAULT_TRACKLOG_URL,
) -> None:
    """Message status and history, dashboard figures, live changes (the console's TrackLog)."""
    ctx.meta[_URL] = tracklog_url  # meta is shared by every context of this invocation


def _state(ctx: typer.Context) -> CliState:
    return ctx.find_object(CliState) or ctx.ensure_object(CliState)


def _client(ctx: typer.Context) -> ConfigClient:
    client: ConfigClient | None = ctx.meta.get(_CLIENT)
    if client is None:
        state = _state(ctx)
        url = ctx.meta.get(_URL, DEFAULT_TRACKLOG_URL)
        client = ConfigClient(url, state.token or stored_token(), state.transport,
                              service="tracklog-svc", url_option="--tracklog-url")  # fmt: skip
        ctx.meta[_CLIENT] = client
        ctx.find_root().call_on_close(client.close)
    return client


def _query(path: str, **params: Any) -> str:
    """``path?query`` without the options left out; lists repeat their key."""
    given = {k: v for k, v in params.items() if v not in (None, [], False)}
    return f"{path}?{urlencode(given, doseq=True)}" if given else path


@app.command("list")
def list_(
    ctx: typer.Context,
    partner: Partner = None,
    station: Annotated[str | None, typer.Option(help="Only this station's (AS2 ID).")] = None,
    direction: Direction = None,
    status: Status = None,
    message_id: Annotated[str | None, typer.Option(help="This Message-ID.")] = None,
    request_id: Annotated[str | None, typer.Option(help="This send request id.")] = None,
    filename: Annotated[str | None, typer.Option(help="Filenames starting so (any case).")] = None,
    since: Since = None,
    until: Until = None,
    sort: Annotated[str, typer.Option(help="created_at or updated_at.")] = "created_at",
    oldest_first: Annotated[bool, typer.Option("--oldest-first", help="Ascending.")] = False,
    limit: Annotated[int, typer.Option(help="Rows per page (at most 500).")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Continue after a previous page.")] = None,
) -> None:
    """List messages, newest first, with their status."""
    path = _query("/messages", partner=partner, station=station, direction=direction,
                  status=status, message_id=message_id, request_id=request_id,
                  filename=filename, since=since, until=until, sort=sort,
                  order="asc" if oldest_first else "desc", limit=limit, cursor=cursor)  # fmt: skip
    page = _client(ctx).get(path)
    if _state(ctx).json:
        output.print_json(page)
        return
    output.table(page["items"], COLUMNS, False, "No messages match.")
    if page["next_cursor"]:
        typer.echo(f"(more: add --cursor {page['next_cursor']})")


def _find(client: ConfigClient, ref: str, direction: str | None = None) -> str:
    """A row id from an id or a Message-ID (which both directions may share: a message we
    sent to ourselves, as the loopback demo does, is one row each way)."""
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        pass
    rows = client.get(_query("/messages", message_id=ref, direction=direction))["items"]
    if not rows:
        raise CliError(f"no {direction + ' ' if direction else ''}message with Message-ID {ref}")
    if len(rows) > 1:
        choices = [f"{r['id']} ({r['direction']}, {r['partner']})" for r in rows]
        raise CliError(
            f"several messages have Message-ID {ref}; add --direction outbound or inbound, "
            "or give one id:",
            *choices,
        )
    return str(rows[0]["id"])


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The message's id, or its Message-ID.")],
    direction: Direction = None,
) -> None:
    """Show one message: what is known about it, and its timeline."""
    client = _client(ctx)
    detail = client.get(f"/messages/{_find(client, ref, direction)}")
    if _state(ctx).json:
        output.print_json(detail)
        return
    output.show(_readable(detail), False)
    typer.echo("")
    output.table(detail["timeline"], TIMELINE, False, "No events.")


#: A document we sent inline has no object-store reference in tracklog-svc (it printed "-"):
#: outbound-svc keeps it in its database, for the retention of sent documents.
SENT_INLINE = (
    "sent inline: outbound-svc keeps it for the document retention (the console downloads it)"
)


def _readable(detail: dict[str, Any]) -> dict[str, Any]:
    """A message's detail as ``track show`` prints it (its timeline goes in a table)."""
    shown = {k: v for k, v in detail.items() if k != "timeline"}
    sent = detail.get("direction") == "outbound" and detail.get("status") != "rejected"
    if sent and "document" in detail and detail["document"] is None:
        shown["document"] = SENT_INLINE
    if detail.get("attachments"):  # one line each, not the API's dicts
        shown["attachments"] = "; ".join(
            _attachment(number, a, sent) for number, a in enumerate(detail["attachments"], 2)
        )
    return shown


def _attachment(number: int, attached: dict[str, Any], sent: bool) -> str:
    """``document 2: LICENSE (text/plain, 11358 bytes)``, and where it is kept when not in
    the object store."""
    name = attached.get("filename") or "no file name"
    where = "" if attached.get("document") else (", sent inline" if sent else ", not kept")
    kind, size = attached.get("content_type"), attached.get("size")
    return f"document {number}: {name} ({kind}, {size} bytes{where})"


def _sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    kind, data = "message", ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and data:
            yield kind, json.loads(data)
            kind, data = "message", ""


def _stream(
    ctx: typer.Context, path: str, opened: Callable[[], None] = lambda: None
) -> Generator[tuple[str, dict[str, Any]]]:
    """The Server-Sent Events of ``path``, as (event, data); ``opened`` once they flow."""
    client, state = _client(ctx), _state(ctx)
    token = state.token or stored_token()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(10, read=None)  # the service sends a keep-alive now and then
    try:
        with (
            httpx.Client(base_url=client.base_url, headers=headers,
                         transport=state.transport, timeout=timeout) as http,
            http.stream("GET", API + path) as response,
        ):  # fmt: skip
            if response.status_code == 401:
                raise CliError(token_problem(token))
            if not response.is_success:
                raise CliError(f"tracklog-svc answered {response.status_code}: {response.read()!r}")
            opened()
            yield from _sse(response.iter_lines())
    except httpx.TransportError as err:
        raise CliError(f"cannot reach tracklog-svc at {client.base_url}: {err}") from None


def _line(change: dict[str, Any]) -> str:
    """One status change; the partner's values (its AS2 ID, its Message-ID) printable."""
    before = change["previous_status"] or "new"
    partner, message = (
        output.text(change["partner"]),
        output.text(change["message_id"] or change["id"]),
    )
    return (f"{change['updated_at'][:19]}  {change['direction']:<8} {partner:<12} "
            f"{before} -> {change['status']}  {message}")  # fmt: skip


@app.command("watch")
def watch(
    ctx: typer.Context,
    partner: Partner = None,
    direction: Direction = None,
    status: Status = None,
    count: Annotated[int, typer.Option(help="Stop after this many changes (0: never).")] = 0,
) -> None:
    """Print each status change as it happens (Ctrl-C stops)."""
    path = _query("/stream", partner=partner, direction=direction, status=status)
    as_json, seen = _state(ctx).json, 0

    def opened() -> None:  # on stderr: the changes alone go to stdout, for a pipe
        typer.echo("watching status changes (Ctrl-C stops)", err=True)

    stream = _stream(ctx, path, opened)
    with contextlib.suppress(KeyboardInterrupt), contextlib.closing(stream) as events:
        for kind, change in events:
            if kind == "overflow":
                raise CliError("changes came faster than they were read; start again")
            typer.echo(json.dumps(change) if as_json else _line(change))
            seen += 1
            if count and seen >= count:
                return


@app.command("stats")
def stats(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="From (ISO; default: a day ago).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to (ISO; default: now).")] = None,
    bucket: Annotated[str, typer.Option(help="hour or day.")] = "hour",
    partner: Partner = None,
) -> None:
    """Dashboard figures: messages by status, time to MDN, failure reasons, certificates."""
    figures = _client(ctx).get(
        _query("/stats", since=since, until=until, bucket=bucket, partner=partner)
    )
    if _state(ctx).json:
        output.print_json(figures)
        return
    typer.echo(f"Messages first seen {figures['since'][:19]} .. {figures['until'][:19]}\n")
    sections: list[tuple[str, list[Any], list[output.Column]]] = [
        ("By status", figures["counts"], [
            ("BUCKET", lambda c: c["bucket"][:16]), ("PARTNER", lambda c: c["partner"]),
            ("DIR", lambda c: c["direction"][:3]), ("STATUS", lambda c: c["status"]),
            ("COUNT", lambda c: c["count"])]),
        ("Time to MDN (ms)", figures["time_to_mdn"], [
            ("PARTNER", lambda t: t["partner"] or "(all)"), ("COUNT", lambda t: t["count"]),
            ("P50", lambda t: t["p50"]), ("P90", lambda t: t["p90"]),
            ("P95", lambda t: t.get("p95")), ("P99", lambda t: t["p99"])]),
        ("Failure reasons", figures["failure_reasons"], [
            ("CODE", lambda f: f["error_code"]), ("PARTNER", lambda f: f["partner"]),
            ("COUNT", lambda f: f["count"]), ("EXAMPLE", lambda f: (f["example"] or "")[:60])]),
        ("Certificates", figures["certificates"], [
            ("ALIAS", lambda c: c["alias"]), ("KIND", lambda c: c["kind"]),
            ("STATE", lambda c: c["state"]), ("DAYS LEFT", lambda c: c["days_left"]),
            ("NOT AFTER", lambda c: (c["not_after"] or "")[:10])]),
    ]  # fmt: skip
    for title, rows, columns in sections:
        typer.echo(f"{title}:")
        output.table(rows, columns, False, "  (none)")
        typer.echo("")
