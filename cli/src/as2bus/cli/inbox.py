"""``as2bus inbox --follow DIR``: received documents into a folder, for users without a bus
consumer of their own. A durable JetStream consumer remembers what was saved; a message is
acknowledged only once its document is on disk.

The follower runs until stopped (Ctrl-C or SIGTERM: one line, exit 0). Idling is a fetch that
finds nothing, which nats-py ends with its own TimeoutError or, in some paths, asyncio's (an
OSError since Python 3.11, whose message is empty: it used to end the follower with "cannot
reach NATS ...: " after a while). Across a nats-server restart the client reconnects without
limit and the durable consumer resumes where it stood; a document being read when NATS went
away is read again from the start, and the folder's record of saved events (``inbox_files``)
keeps a redelivered one from being written twice."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import nats
import typer
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import ObjectNotFoundError

from as2bus.cli.client import CliError, with_stored_nats_user
from as2bus.cli.inbox_files import safe_name, save_chunks, seen
from as2bus.contracts import DocumentRef, MessageReceived, parse_event
from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.shared.bus import inbox_prefix
from as2bus.shared.bus.documents import DocumentStore

Report = Callable[[str], None]

CONNECT_SECONDS = 5.0  # an unreachable NATS is said so within this, not retried for minutes
RETRY_SECONDS = 1.0
# Whatever NATS may raise while it is away or coming back: TimeoutError covers nats-py's own
# and asyncio's; nats.errors.Error covers "no responders", "connection reconnecting" and the like.
TRANSIENT = (TimeoutError, nats.errors.Error)


async def connect(nats_url: str, report: Report) -> NATS:
    """A connection that reconnects for as long as it lives; one line if NATS is not there."""
    nc = NATS()
    with_user = with_stored_nats_user(nats_url)  # here only: an error message never shows it

    async def quiet(err: Exception) -> None:  # nats-py's default prints a traceback per attempt
        pass

    async def disconnected() -> None:
        if not nc.is_closed:  # closed: our own close, not a loss
            report("lost the connection to NATS, reconnecting")

    async def reconnected() -> None:
        report("reconnected to NATS")

    try:
        await asyncio.wait_for(
            nc.connect(
                with_user,
                inbox_prefix=inbox_prefix(with_user),
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                error_cb=quiet,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
            ),
            CONNECT_SECONDS,
        )
    except (*TRANSIENT, OSError):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), RETRY_SECONDS)
        raise CliError(
            f"cannot reach NATS at {nats_url}: start the gateway (as2bus up) or pass --nats-url"
        ) from None
    return nc


class Follower:
    """Saves the documents of MessageReceived events into ``directory``."""

    def __init__(self, directory: Path, report: Report = print) -> None:
        self.directory = directory
        self.report = report
        self.saved = 0
        self._done = seen(directory)

    async def run(
        self,
        nats_url: str,
        *,
        durable: str,
        once: bool = False,
        fetch_seconds: float = 5.0,
        following: Callable[[], None] = lambda: None,
    ) -> int:
        """Save documents until cancelled (or, with ``once``, until none are waiting);
        ``following`` once the documents can come."""
        nc = await connect(nats_url, self.report)
        try:
            js = nc.jetstream()
            subscription = await js.pull_subscribe(
                MessageReceived.subject,
                durable=durable,
                stream=EVENTS_STREAM,
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=60),
            )
            store = DocumentStore(await documents_bucket(js), js)
            following()
            while True:
                try:
                    batch = await subscription.fetch(10, timeout=1 if once else fetch_seconds)
                except TimeoutError:
                    batch = []  # idle
                except nats.errors.Error:  # NATS away or JetStream not back yet: fetch again
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                if not batch and once:
                    return self.saved
                for msg in batch:
                    await self._save(store, msg)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), RETRY_SECONDS)

    async def _save(self, store: DocumentStore, msg: Msg) -> None:
        """Every document of the event (the first, then its attachments), each once: the
        event is acknowledged when all are on disk, and asked again later when one is not."""
        event = parse_event(msg.data)  # an older version of the event upcast to ours
        if not isinstance(event, MessageReceived):
            await msg.ack()  # nothing else is published on its subject; nothing to save
            return
        data, event_id = event.data, str(event.event_id)
        documents = [(event_id, data.document, data.filename)] + [
            (f"{event_id}.{i}", a.document, a.filename)
            for i, a in enumerate(data.attachments, start=1)
        ]
        for key, ref, filename in documents:
            if not await self._save_one(store, key, ref, filename, data.partner):
                await msg.nak(delay=60)
                return
        await msg.ack()

    async def _save_one(
        self, store: DocumentStore, key: str, ref: DocumentRef, filename: str | None, partner: str
    ) -> bool:
        """One document under ``key``; False when it must be asked for again later."""
        while key not in self._done:
            name = safe_name(filename, f"{partner}-{ref.sha256[:12]}.dat")
            try:
                path, size = await save_chunks(self.directory, name, store.chunks(ref), key)
            except ObjectNotFoundError:
                self.report(f"skipped {name} from {partner}: its document is gone")
                return True
            except ValueError:  # not the bytes the event names: never saved, asked again later
                self.report(f"{name} from {partner} does not match its checksum")
                return False
            except TRANSIENT:  # NATS went away mid-document: read it again once it is back
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._done.add(key)
            self.saved += 1
            self.report(f"saved {path} ({size} bytes) from {partner}")
        return True


async def follow(
    nats_url: str,
    directory: Path,
    *,
    durable: str = "as2bus-inbox",
    once: bool = False,
    report: Report = print,
    fetch_seconds: float = 5.0,
) -> int:
    """Save documents until cancelled (or, with ``once``, until none are waiting)."""
    follower = Follower(directory, report)
    return await follower.run(nats_url, durable=durable, once=once, fetch_seconds=fetch_seconds)


async def _until_stopped(
    follower: Follower, nats_url: str, durable: str, once: bool, following: Callable[[], None]
) -> bool:
    """Run the follower; True when a signal (Ctrl-C, SIGTERM) stopped it."""
    run = follower.run(nats_url, durable=durable, once=once, following=following)
    task = asyncio.create_task(run)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        return True
    return False


def inbox_command(
    folder: Annotated[
        Path | None,
        typer.Argument(help="The folder to save documents into.", show_default=False),
    ] = None,
    follow: Annotated[
        Path | None,
        typer.Option(
            "--follow",
            help="The same as FOLDER (as2bus inbox --follow FOLDER).",
            show_default=False,
        ),
    ] = None,
    nats_url: Annotated[
        str, typer.Option(envvar="AS2BUS_NATS_URL", help="NATS server of the gateway.")
    ] = "nats://127.0.0.1:4222",
    durable: Annotated[
        str, typer.Option(help="Consumer name: each name gets every document once.")
    ] = "as2bus-inbox",
    once: Annotated[bool, typer.Option("--once", help="Save what is waiting, then exit.")] = False,
) -> None:
    """Save every received document into a folder (atomically, never overwriting), until
    stopped with Ctrl-C or SIGTERM. The folder also gets .as2bus-inbox, the record of the
    documents saved (a dot file, for a watcher of the folder to skip)."""
    follow_dir = _folder(folder, follow)
    if follow_dir.exists() and not follow_dir.is_dir():
        raise CliError(f"{follow_dir} is not a folder: give the folder to save documents into")
    follower = Follower(follow_dir, lambda line: typer.echo(line))

    def following() -> None:  # on stderr: stdout names only what was saved, for a pipe
        if not once:
            typer.echo(f"saving received documents into {follow_dir} (Ctrl-C stops)", err=True)

    try:
        stopped = asyncio.run(_until_stopped(follower, nats_url, durable, once, following))
    except OSError as err:
        raise CliError(f"cannot write to {follow_dir}: {err.strerror or err}") from None
    if stopped:
        typer.echo(f"stopped; {follower.saved} document(s) saved")
    elif once:
        typer.echo(f"{follower.saved} document(s) saved")


def _folder(folder: Path | None, follow: Path | None) -> Path:
    """The folder, given as the argument or with --follow (the older form), not both."""
    if folder is not None and follow is not None and folder != follow:
        raise CliError(
            f"two folders given ({folder} and --follow {follow}): give one, as2bus inbox FOLDER"
        )
    chosen = folder or follow
    if chosen is None:
        raise CliError(
            "give the folder to save documents into: as2bus inbox FOLDER "
            "(e.g. as2bus inbox ./received --once)"
        )
    return chosen
