"""``as2bus send FILE --from STATION --to PARTNER``: publish a send request, optionally wait."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Annotated, Any

import nats
import typer
from nats.errors import NoServersError

from as2bus.cli.client import CliError, with_stored_nats_user
from as2bus.shared.bus import inbox_prefix
from as2bus.shared.bus.send import send_document
from as2bus.shared.contracts import SendRequest

FINAL = {"MdnReceived", "MessageFailed", "MessageRejected"}


def _outcome(event: dict[str, Any]) -> str:
    data = event["data"]
    kind = event["event_type"]
    if kind == "MdnReceived":
        mic = {True: ", MIC matches", False: ", MIC MISMATCH"}.get(data.get("mic_matches"), "")
        signed = "signed and verified" if data.get("signature_valid") else "unsigned or unverified"
        return f"MDN {data['disposition']} ({signed}{mic})"
    return f"{kind}: {data.get('reason')}"


async def _send(
    nats_url: str, data: bytes, wait: float, **fields: Any
) -> tuple[SendRequest, list[str]]:
    nats_url = with_stored_nats_user(nats_url)  # here only: an error message never shows it
    nc = await nats.connect(nats_url, allow_reconnect=False, inbox_prefix=inbox_prefix(nats_url))
    try:
        seen: list[dict[str, Any]] = []

        async def collect(msg: Any) -> None:  # nats-py wants a coroutine function here
            with contextlib.suppress(ValueError):
                seen.append(json.loads(msg.data))

        subscription = await nc.subscribe("as2.evt.>", cb=collect)
        request = await send_document(nc, data, **fields)
        lines, message_id, deadline = [], None, time.monotonic() + wait
        while wait and time.monotonic() < deadline:
            for event in list(seen):
                body = event["data"]
                if (
                    body.get("request_id") == request.request_id
                    and event["event_type"] == "MessageQueued"
                ):
                    message_id = body["message_id"]
                    lines.append(f"queued as {message_id}")
                mine = body.get("request_id") == request.request_id or (
                    message_id and body.get("original_message_id") == message_id
                )
                if mine and event["event_type"] in FINAL:
                    lines.append(_outcome(event))
                    return request, lines
            seen.clear()
            await asyncio.sleep(0.1)
        await subscription.unsubscribe()
        if wait:
            lines.append(f"no outcome within {wait:g} s (see: as2bus track show, or the events)")
        return request, lines
    finally:
        await nc.close()


def send(
    file: Annotated[Path, typer.Argument(help="The document to send.")],
    station: Annotated[str, typer.Option("--from", help="Our station's AS2 ID.")],
    partner: Annotated[str, typer.Option("--to", help="The partner's AS2 ID.")],
    content_type: Annotated[
        str, typer.Option(help="The document's MIME type.")
    ] = "application/edi-x12",
    subject: Annotated[str, typer.Option(help="The AS2 Subject header.")] = "AS2 Message",
    request_id: Annotated[
        str | None, typer.Option(help="Idempotency key (default: a new UUID).")
    ] = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the outcome (0: don't wait).")
    ] = 30,
    nats_url: Annotated[
        str, typer.Option(envvar="AS2BUS_NATS_URL", help="The gateway's NATS.")
    ] = "nats://127.0.0.1:4222",
) -> None:
    """Send a file to a partner: stores it, publishes the send request, waits for the MDN."""
    try:
        data = file.read_bytes()
    except OSError as err:
        raise CliError(f"cannot read {file}: {err.strerror}") from None
    try:
        request, lines = asyncio.run(
            _send(
                nats_url,
                data,
                wait,
                station=station,
                partner=partner,
                filename=file.name,
                content_type=content_type,
                subject=subject,
                request_id=request_id,
            )
        )
    except (NoServersError, OSError) as err:
        raise CliError(
            f"cannot reach NATS at {nats_url} — is the gateway running? ({err})"
        ) from None
    typer.echo(
        f"send request {request.request_id}: {file.name} ({len(data)} bytes) {station} -> {partner}"
    )
    for line in lines:
        typer.echo(f"  {line}")
    if lines and not lines[-1].startswith("MDN processed"):
        raise typer.Exit(1)
