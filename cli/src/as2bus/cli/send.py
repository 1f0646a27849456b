"""``as2bus send FILE... --from STATION --to PARTNER``: publish a send request (several files:
one message of several documents) and wait for the message's outcome.

The outcome is judged from the message's events by the rule tracklog-svc applies
(``as2bus.contracts.verdict``), and printed in the same words, so ``as2bus send`` and
``as2bus track show`` never disagree.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import nats
import typer
from nats.aio.client import Client
from nats.errors import Error as NatsError

from as2bus.cli.client import CliError, with_stored_nats_user
from as2bus.contracts import (
    MAX_ATTACHMENTS,
    OutboundFacts,
    SendRequest,
    Verdict,
    parse_event,
)
from as2bus.contracts.content_types import HEAD_BYTES, guess_content_type, mime_type_problem
from as2bus.contracts.send import Attachment, RequestIdReusedError, send_document
from as2bus.contracts.verdict import known, observe, outbound_verdict
from as2bus.shared.bus import inbox_prefix

#: Exit codes by verdict; 2 is click's usage error, 4 a wait that ran out.
EXIT_CODES = {"delivered": 0, "failed": 1, "rejected": 1, "delivered-with-warnings": 3}
TIMED_OUT = 4
_EVENTS = {"MessageQueued", "AttemptStarted", "MessageSent", "MessageRetrying", "MessageFailed",
           "MessageRejected", "MdnReceived"}  # fmt: skip
#: Connect once more after a short pause, then give up: nats-py otherwise retries the first
#: connection 60 times, 2 s apart, and logs a traceback for each failure (about 120 s).
_CONNECT = {
    "connect_timeout": 2,
    "allow_reconnect": False,
    "max_reconnect_attempts": 1,
    "reconnect_time_wait": 0.2,
}


async def _quiet(_err: Exception) -> None:
    """nats-py's error callback: the failure is reported once, by the caller."""


async def connect(nats_url: str) -> Client:
    try:
        with_user = with_stored_nats_user(nats_url)  # here only: an error never shows it
        return await nats.connect(
            with_user, inbox_prefix=inbox_prefix(with_user), error_cb=_quiet, **_CONNECT
        )
    except (NatsError, OSError) as err:
        detail = str(err) or f"no answer within {_CONNECT['connect_timeout']} s"
        raise CliError(
            f"cannot reach NATS at {nats_url} ({detail}): is the gateway running? "
            "(set --nats-url or AS2BUS_NATS_URL)"
        ) from None


class Outcome:
    """The events of one send request's message, as they arrive, and their verdict."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.message_id: str | None = None
        self.facts = OutboundFacts()
        self.verdict = outbound_verdict(self.facts)
        self.done = asyncio.Event()

    def ours(self, data: dict[str, Any]) -> bool:
        if data.get("request_id") == self.request_id:
            return True
        return self.message_id is not None and self.message_id in (
            data.get("message_id"),
            data.get("original_message_id"),
        )

    async def receive(self, msg: Any) -> None:  # nats-py wants a coroutine function here
        try:
            raw = json.loads(msg.data)
            if raw.get("event_type") not in _EVENTS or not self.ours(raw.get("data") or {}):
                return
            event = parse_event(msg.data)
        except ValueError:
            return  # not an event of ours
        if event.event_type == "MessageQueued":
            self.message_id = raw["data"]["message_id"]
        self.facts = observe(self.facts, event)
        self.verdict = outbound_verdict(self.facts)
        if known(self.facts, self.verdict):
            self.done.set()


async def _send(
    nats_url: str, data: bytes, wait: float, **fields: Any
) -> tuple[SendRequest, Outcome | None]:
    nc = await connect(nats_url)
    try:
        # The id is known before publishing: the first events may arrive before the ack.
        outcome = Outcome(fields.pop("request_id") or str(uuid.uuid4()))
        subscription = await nc.subscribe("as2.evt.>", cb=outcome.receive)
        try:
            request = await send_document(nc, data, request_id=outcome.request_id, **fields)
        except RequestIdReusedError as err:  # nothing published: no outcome to wait for
            check = f"as2bus track list --request-id '{err.request_id}'"
            raise CliError(f"{err} (the request under it: {check})") from None
        if not wait:
            return request, None
        deadline = time.monotonic() + wait
        while not outcome.done.is_set() and time.monotonic() < deadline and nc.is_connected:
            try:
                await asyncio.wait_for(outcome.done.wait(), timeout=0.5)
            except TimeoutError:
                continue
        if not nc.is_connected and not outcome.done.is_set():
            raise CliError(
                f"lost the connection to NATS at {nats_url} while waiting; "
                f"check later with: {_check_later(request, outcome)}"
            )
        await subscription.unsubscribe()
        return request, outcome
    except NatsError as err:
        raise CliError(f"NATS at {nats_url} refused the send request: {err}") from None
    finally:
        await nc.close()


def _check_later(request: SendRequest, outcome: Outcome | None) -> str:
    if outcome is not None and outcome.message_id:
        # Outbound: a message sent to ourselves (the loopback demo) has a row each way.
        return f"as2bus track show '{outcome.message_id}' --direction outbound"
    return f"as2bus track list --request-id '{request.request_id}'"


def _mime_type(value: str | None) -> str | None:
    """A usage error (exit 2) before anything is read or published: the send request's rule."""
    problem = mime_type_problem(value) if value is not None else None
    if problem is not None:
        raise typer.BadParameter(problem)
    return value


def send(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="The document to send; several go as one message (RFC 6362 multiple "
            "attachments: the partner must support them).",
            metavar="FILE",
            exists=True,  # a file that is not there is a usage error (exit 2), said at once
            dir_okay=False,
        ),
    ],
    station: Annotated[str, typer.Option("--from", help="Our station's AS2 ID.")],
    partner: Annotated[str, typer.Option("--to", help="The partner's AS2 ID.")],
    content_type: Annotated[
        str | None,
        typer.Option(
            help="The MIME type of every file sent (default: each file's own, from its "
            "content and name: X12 application/edi-x12, EDIFACT application/edifact, XML "
            "application/xml, else by extension, else application/octet-stream).",
            show_default=False,
            callback=_mime_type,
        ),
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            help="The AS2 Subject header (default: the partner's default subject, else AS2 "
            "Message).",
            show_default=False,
        ),
    ] = None,
    request_id: Annotated[
        str | None, typer.Option(help="Idempotency key (default: a new UUID).")
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            min=0, help="Seconds to wait for the outcome (0: publish the request and exit 0)."
        ),
    ] = 30,
    nats_url: Annotated[
        str, typer.Option(envvar="AS2BUS_NATS_URL", help="The gateway's NATS.")
    ] = "nats://127.0.0.1:4222",
) -> None:
    """Send a file (or several, in one message) to a partner and wait for its outcome (its
    MDN, or the HTTP answer when the partner sends no MDN). The last line is the verdict in
    the TrackLog's words: delivered, delivered with warnings: ..., failed: ... or rejected: ...

    Exit codes: 0 delivered; 1 failed or rejected, or the gateway cannot be reached; 2 usage
    error; 3 delivered with warnings; 4 no outcome within --wait (the line says what to run to
    check later: as2bus track show MESSAGE-ID --direction outbound).
    """
    if len(files) > MAX_ATTACHMENTS:
        raise CliError(f"{len(files)} files: one message holds at most {MAX_ATTACHMENTS}")
    contents = []
    for file in files:
        try:
            contents.append(file.read_bytes())
        except OSError as err:
            raise CliError(f"cannot read {file}: {err.strerror}") from None
    types = [
        content_type or guess_content_type(file.name, data[:HEAD_BYTES])
        for file, data in zip(files, contents, strict=True)
    ]
    extra = [
        Attachment(data, file.name, kind)
        for file, data, kind in zip(files[1:], contents[1:], types[1:], strict=True)
    ]
    request, outcome = asyncio.run(
        _send(
            nats_url,
            contents[0],
            wait,
            station=station,
            partner=partner,
            filename=files[0].name,
            content_type=types[0],
            subject=subject,
            request_id=request_id,
            attachments=extra,
        )
    )
    # The type each file went as: a guess the user did not expect shows here, not at the partner.
    names = ", ".join(f"{f.name} as {kind}" for f, kind in zip(files, types, strict=True))
    size = sum(len(c) for c in contents)
    typer.echo(f"send request {request.request_id}: {names} ({size} bytes) {station} -> {partner}")
    if outcome is None:
        typer.echo(f"  not waiting for the outcome; check with: {_check_later(request, None)}")
        return
    if outcome.message_id:
        typer.echo(f"  queued as {outcome.message_id}")
    if not outcome.done.is_set():
        typer.echo(_timed_out(wait, outcome.verdict, _check_later(request, outcome)))
        raise typer.Exit(TIMED_OUT)
    typer.echo(outcome.verdict.sentence)
    raise typer.Exit(EXIT_CODES[outcome.verdict.status])


def _timed_out(wait: float, verdict: Verdict, check: str) -> str:
    return f"no outcome within {wait:g} s (so far: {verdict.sentence}); check later with: {check}"
