"""as2bus inbox against real JetStream: documents from MessageReceived events into a folder."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from as2bus.cli.inbox import follow
from as2bus.shared.bus import open_bus, publish_event
from as2bus.shared.bus.documents import DocumentStore, documents_bucket
from as2bus.shared.contracts import MessageReceived, ReceivedDocument


async def publish_received(nats_url: str, filename: str, data: bytes) -> None:
    bus = await open_bus(nats_url, name="test-inbox")
    try:
        store = DocumentStore(await documents_bucket(bus.js), bus.js)
        ref = await store.put(f"in/{uuid.uuid4()}", data)
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
