"""as2bus inbox against real JetStream: documents from MessageReceived events into a folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext

from as2bus.cli.inbox import follow
from as2bus.contracts import MessageReceived, ReceivedAttachment, ReceivedDocument
from as2bus.contracts.documents import documents_bucket
from as2bus.shared.bus import open_bus, publish_event
from as2bus.shared.bus.documents import DocumentStore
from as2bus.testing.infra import LocalNats, free_port
from as2bus.testing.waiting import nothing_within, until


async def publish_received(
    nats_url: str, filename: str, data: bytes, *more: tuple[str, bytes]
) -> None:
    """A MessageReceived for a stored document (and ``more`` documents as its attachments)."""
    bus = await open_bus(nats_url, name="test-inbox")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        ref = await store.put(f"in/{uuid.uuid4()}", data)
        attachments = [
            ReceivedAttachment(
                document=await store.put(f"in/{uuid.uuid4()}", content),
                filename=name,
                content_type="application/pdf",
            )
            for name, content in more
        ]
        event = MessageReceived(
            correlation_id="<m@acme>",
            data=ReceivedDocument(
                message_id=f"<{uuid.uuid4()}@acme>",
                station="MYCO",
                partner="acme",
                filename=filename,
                content_type="application/edi-x12",
                subject=None,
                document=ref,
                signed=True,
                encrypted=True,
                compressed=False,
                mic=None,
                mic_alg=None,
                received_at=datetime.now(UTC),
                attachments=attachments,
            ),
        )
        await publish_event(bus.broker, event)
    finally:
        await bus.close()


async def test_received_documents_are_saved_once_each(nats_url: str, tmp_path: Path) -> None:
    await publish_received(nats_url, "po.x12", b"first")
    await publish_received(nats_url, "po.x12", b"second")
    await publish_received(nats_url, "../../escape.edi", b"third")
    lines: list[str] = []
    saved = await follow(nats_url, tmp_path, once=True, report=lines.append)
    assert saved == 3
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.startswith(".")}
    assert files == {"po.x12": b"first", "po (1).x12": b"second", "escape.edi": b"third"}
    assert len(lines) == 3

    # Run again: the durable consumer has acknowledged everything; nothing is saved twice.
    assert await follow(nats_url, tmp_path, once=True, report=lines.append) == 0
    await publish_received(nats_url, "inv.edi", b"later")
    assert await follow(nats_url, tmp_path, once=True, report=lines.append) == 1
    assert (tmp_path / "inv.edi").read_bytes() == b"later"


async def test_every_document_of_a_message_is_saved_once(nats_url: str, tmp_path: Path) -> None:
    """A message of three documents (RFC 6362): three files, and a second run saves none."""
    await publish_received(nats_url, "order.x12", b"ISA*1~", ("spec.pdf", b"%PDF-1"), ("", b"x"))
    lines: list[str] = []
    assert await follow(nats_url, tmp_path, once=True, report=lines.append) == 3
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.startswith(".")}
    assert files["order.x12"] == b"ISA*1~"
    assert files["spec.pdf"] == b"%PDF-1"
    (unnamed,) = set(files) - {"order.x12", "spec.pdf"}
    assert unnamed.startswith("acme-")  # no filename: a name of its own
    assert files[unnamed] == b"x"
    assert await follow(nats_url, tmp_path, once=True, report=lines.append) == 0


@contextlib.asynccontextmanager
async def _within(seconds: float, what: str) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise AssertionError(f"{what} took longer than {seconds} s") from None


def _documents(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if not p.name.startswith(".")}


def count_empty_fetches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the pull fetches that end with nothing (time out), in one list item each."""
    empty: list[int] = []
    fetch = JetStreamContext.PullSubscription.fetch

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fetch(self, *args, **kwargs)
        except TimeoutError:
            empty.append(1)
            raise

    monkeypatch.setattr(JetStreamContext.PullSubscription, "fetch", counted)
    return empty


async def test_following_idles_without_end_and_survives_a_nats_restart(
    restartable_nats: LocalNats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many empty fetches in a row are idling, not an end; a restarted nats-server is
    reconnected to and what arrives after it is saved too."""
    url = restartable_nats.url
    await publish_received(url, "before.edi", b"before the restart")
    lines: list[str] = []
    empty = count_empty_fetches(monkeypatch)
    task = asyncio.create_task(follow(url, tmp_path, report=lines.append, fetch_seconds=0.1))
    await until(lambda: "before.edi" in _documents(tmp_path), what="before.edi", timeout=20)
    idled = len(empty)
    await until(lambda: len(empty) >= idled + 15 or task.done(), what="15 empty fetches more")
    assert not task.done(), lines

    await asyncio.to_thread(restartable_nats.restart, 1.0)
    # Each step bounded, so that a hang (seen once on a loaded machine) says where it was.
    async with _within(30, "publishing after the restart"):
        await publish_received(url, "after.edi", b"after the restart")
    await until(lambda: "after.edi" in _documents(tmp_path), what="after.edi", timeout=30)
    assert not task.done(), lines
    task.cancel()
    async with _within(10, "stopping the follower"):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert _documents(tmp_path) == {
        "before.edi": b"before the restart",
        "after.edi": b"after the restart",
    }
    assert "lost the connection to NATS, reconnecting" in lines
    assert "reconnected to NATS" in lines


async def test_a_large_document_is_written_in_chunks_not_held_whole(
    nats_url: str, tmp_path: Path
) -> None:
    size = 30 << 20
    document = os.urandom(1 << 20) * 30  # 30 MiB
    await publish_received(nats_url, "big.bin", document)
    inbox = tmp_path / "inbox"
    tracemalloc.start()
    try:
        saved = await follow(nats_url, inbox, once=True, report=lambda _line: None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert saved == 1
    assert (inbox / "big.bin").stat().st_size == size
    assert (inbox / "big.bin").read_bytes() == document
    print(f"peak Python memory while saving a {size >> 20} MiB document: {peak / 2**20:.1f} MiB")
    assert peak < 8 << 20, f"{peak / 2**20:.1f} MiB"


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "as2bus.cli", "inbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "AS2BUS_DATA_DIR": "/nonexistent"},  # no stored NATS user
    )


async def test_the_command_runs_until_sigterm_then_says_what_it_saved(
    nats_url: str, tmp_path: Path
) -> None:
    await publish_received(nats_url, "po.edi", b"ISA*00~")
    proc = _cli("--follow", str(tmp_path), "--nats-url", nats_url)
    try:
        await until(lambda: "po.edi" in _documents(tmp_path), what="po.edi", timeout=20)

        # It goes on after what was waiting is saved (--once would end here). An end can only
        # be watched for a while: a wrong one would follow the save at once.
        def ended() -> str | None:
            code = proc.poll()
            return None if code is None else f"exit code {code}"

        await nothing_within(1, ended, what="the command ending on its own")
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, output
    assert output.splitlines()[0] == f"saving received documents into {tmp_path} (Ctrl-C stops)"
    assert output.splitlines()[-1] == "stopped; 1 document(s) saved", output
    assert "Traceback" not in output


async def test_an_unreachable_nats_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    proc = _cli("--follow", str(tmp_path), "--nats-url", url)
    # It gives up rather than retrying for ever: a hang is communicate's TimeoutExpired. (No
    # tighter bound: on a loaded CI machine the interpreter's start alone took 14 s, CI24.)
    output, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 1
    assert output.splitlines() == [
        f"error: cannot reach NATS at {url}: start the gateway (as2bus up) or pass --nats-url"
    ], output
