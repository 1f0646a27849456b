"""``as2bus inbox --follow DIR``: received documents into a folder, for users without a bus
consumer of their own. A durable JetStream consumer remembers what was saved; a message is
acknowledged only once its document is on disk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import nats
import typer
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ConsumerConfig, DeliverPolicy

from as2bus.cli.client import CliError, with_stored_nats_user
from as2bus.cli.inbox_files import safe_name, save, seen
from as2bus.shared.bus import inbox_prefix
from as2bus.shared.bus.documents import DocumentStore, documents_bucket
from as2bus.shared.contracts import MessageReceived
from as2bus.shared.subjects import EVENTS_STREAM

Report = Callable[[str], None]


async def follow(
    nats_url: str,
    directory: Path,
    *,
    durable: str = "as2bus-inbox",
    once: bool = False,
    report: Report = print,
) -> int:
    """Save documents until interrupted (or, with ``once``, until none are waiting)."""
    nats_url = with_stored_nats_user(nats_url)  # here only: an error message never shows it
    nc = await nats.connect(nats_url, inbox_prefix=inbox_prefix(nats_url))
    saved = 0
    try:
        js = nc.jetstream()
        subscription = await js.pull_subscribe(
            MessageReceived.subject,
            durable=durable,
            stream=EVENTS_STREAM,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=60),
        )
        store = DocumentStore(await documents_bucket(js), js)
        done = seen(directory)
        while True:
            try:
                batch = await subscription.fetch(10, timeout=1 if once else 5)
            except NatsTimeout:
                if once:
                    return saved
                continue
            for msg in batch:
                event = MessageReceived.model_validate_json(msg.data)
                if str(event.event_id) not in done:
                    data = await store.get(event.data.document)
                    fallback = f"{event.data.partner}-{event.data.document.sha256[:12]}.dat"
                    name = safe_name(event.data.filename, fallback)
                    path = save(directory, name, data, str(event.event_id))
                    done.add(str(event.event_id))
                    saved += 1
                    report(f"saved {path} ({len(data)} bytes) from {event.data.partner}")
                await msg.ack()
    finally:
        await nc.close()


def inbox_command(
    follow_dir: Annotated[
        Path, typer.Option("--follow", help="The folder to save documents into.")
    ],
    nats_url: Annotated[
        str, typer.Option(envvar="AS2BUS_NATS_URL", help="NATS server of the gateway.")
    ] = "nats://127.0.0.1:4222",
    durable: Annotated[
        str, typer.Option(help="Consumer name: each name gets every document once.")
    ] = "as2bus-inbox",
    once: Annotated[bool, typer.Option("--once", help="Save what is waiting, then exit.")] = False,
) -> None:
    """Save every received document into a folder (atomically, never overwriting)."""
    try:
        saved = asyncio.run(follow(nats_url, follow_dir, durable=durable, once=once))
    except KeyboardInterrupt:
        return
    except OSError as err:
        raise CliError(f"cannot reach NATS at {nats_url} or write {follow_dir}: {err}") from None
    if once:
        typer.echo(f"{saved} document(s) saved")
