"""Documents leave the object store when their retention is over (issue #17): the sent one
(stored by outbound-svc or by the publisher) once its message has been settled for the
outbound retention; the received one a grace period after every durable consumer of
MessageReceived has acknowledged it, and at the latest the inbound retention after it was
announced."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from as2bus.shared.bus.documents import DocumentStore, documents_bucket
from as2bus.shared.bus.outcomes import RECEIVED_SUBJECTS, EventConsumer
from as2bus.shared.bus.send import send_document
from as2bus.shared.contracts import SendRequest
from as2bus.shared.testing.services import ServiceProcess

from .conftest import start_inbound, start_outbound, stop
from .test_outbound_loopback import loopback, wait_for

#: About three seconds, looked at every 0.3 s.
SHORT = {"DOCUMENT_RETENTION_HOURS": str(3 / 3600), "RETENTION_CHECK_SECONDS": "0.3"}


@pytest.fixture
def short_retention(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    inbound = start_inbound(
        nats_url, master_key, tmp_path, **{f"AS2BUS_INBOUND_{k}": v for k, v in SHORT.items()}
    )
    outbound = start_outbound(
        nats_url,
        master_key,
        tmp_path,
        AS2BUS_OUTBOUND_KEEP_IN_DATABASE_BYTES="0",  # every document through the object store
        **{f"AS2BUS_OUTBOUND_{k}": v for k, v in SHORT.items()},
    )
    yield inbound, outbound
    stop(outbound)
    stop(inbound)


async def _gone(store: DocumentStore, names: list[str], timeout: float = 15) -> list[str]:
    for _ in range(int(timeout / 0.2)):
        left = [name for name in names if await store.stored(name) is not None]
        if not left:
            return []
        await asyncio.sleep(0.2)
    return left


async def test_sent_and_received_documents_are_deleted_after_their_retention(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    short_retention: tuple[ServiceProcess, ServiceProcess],
    nats_url: str,
) -> None:
    inbound, _outbound = short_retention
    await loopback(config_svc, cert_svc, f"{inbound.base_url}/as2", "sync")
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        store = DocumentStore(await documents_bucket(js), js)
        theirs = await send_document(nc, b"R" * 300_000, station="A", partner="B")  # by reference
        ours = await send_document(nc, b"ISA*00*inline~", station="A", partner="B")  # inline
        assert isinstance(theirs, SendRequest)
        assert theirs.document is not None
        delivered = await wait_for(js, "MessageDelivered", 2)
        assert {d["data"]["request_id"] for d in delivered} == {
            theirs.request_id,
            ours.request_id,
        }
        queued = [e["data"] for e in await wait_for(js, "MessageQueued", 2)]
        sent_names = [q["document"]["name"] for q in queued]
        received = [e["data"]["document"]["name"] for e in await wait_for(js, "MessageReceived", 2)]
        assert theirs.document.name in sent_names
        assert all(name.startswith("in/") for name in received)
        # Right after delivery they are all still there: the consumers' time.
        stored: list[Any] = [await store.stored(name) for name in [*sent_names, *received]]
        assert None not in stored
        assert await _gone(store, [*sent_names, *received]) == []
    finally:
        await nc.close()


@pytest.fixture
def consumption_retention(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """Received documents: one second of grace once consumed, an hour at the latest."""
    inbound = start_inbound(
        nats_url,
        master_key,
        tmp_path,
        AS2BUS_INBOUND_DOCUMENT_GRACE_HOURS=str(1 / 3600),
        AS2BUS_INBOUND_DOCUMENT_RETENTION_HOURS="1",
        AS2BUS_INBOUND_RETENTION_CHECK_SECONDS="0.3",
    )
    outbound = start_outbound(nats_url, master_key, tmp_path)
    yield inbound, outbound
    stop(outbound)
    stop(inbound)


async def test_a_received_document_stays_until_every_consumer_has_acknowledged_it(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    consumption_retention: tuple[ServiceProcess, ServiceProcess],
    nats_url: str,
) -> None:
    inbound, _outbound = consumption_retention
    await loopback(config_svc, cert_svc, f"{inbound.base_url}/as2", "sync")
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        erp = await EventConsumer.open(js, "slow-erp", RECEIVED_SUBJECTS)
        store = DocumentStore(await documents_bucket(js), js)
        await send_document(nc, b"ISA*00*consumed-later~", station="A", partner="B")
        (received,) = await wait_for(js, "MessageReceived")
        name = received["data"]["document"]["name"]
        await asyncio.sleep(3)  # three times the grace, ten purges: slow-erp has not read it
        assert await store.stored(name) is not None
        taken = await erp.next(wait=5)  # reads and acknowledges it
        assert [e.data.document.name for e in taken] == [name]  # type: ignore[attr-defined]
        assert await _gone(store, [name]) == []
    finally:
        await nc.close()
