"""Documents leave the object store when their retention is over (issue #17): a sent one
(stored by outbound-svc or by the publisher) once its message has been settled for the
outbound retention; a received one a grace period after every durable consumer of
MessageReceived has acknowledged it (the latest deadline is unit-tested in inbound-svc). Our
messages as sent and the partner's MDNs go with the sent documents; the messages as received
stay until the latest deadline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.outcomes import RECEIVED_SUBJECTS, EventConsumer
from as2bus.contracts.send import send_document
from as2bus.shared.bus.documents import DocumentStore
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of, until

from .conftest import start_inbound, start_outbound, stop
from .test_outbound_loopback import loopback

HOURS_3S = str(3 / 3600)
HOURS_1S = str(1 / 3600)


@pytest.fixture
def short_retention(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    """Sent documents: 3 s after settling. Received: 1 s after consumed, 1 h at the latest."""
    inbound = start_inbound(
        nats_url,
        master_key,
        tmp_path,
        AS2BUS_INBOUND_DOCUMENT_GRACE_HOURS=HOURS_1S,
        AS2BUS_INBOUND_DOCUMENT_RETENTION_HOURS="1",
        AS2BUS_INBOUND_RETENTION_CHECK_SECONDS="0.3",
    )
    outbound = start_outbound(
        nats_url,
        master_key,
        tmp_path,
        AS2BUS_OUTBOUND_KEEP_IN_DATABASE_BYTES="0",  # every document through the object store
        AS2BUS_OUTBOUND_DOCUMENT_RETENTION_HOURS=HOURS_3S,
        AS2BUS_OUTBOUND_RETENTION_CHECK_SECONDS="0.3",
    )
    yield inbound
    stop(outbound)
    stop(inbound)


async def _gone(store: DocumentStore, names: list[str], what: str) -> None:
    async def none_left() -> bool:
        left = [name for name in names if await store.stored(name) is not None]
        assert not left, f"still stored: {left}"
        return True

    await until(none_left, what=what, timeout=15, interval=0.2)


async def test_documents_are_deleted_when_settled_or_consumed_and_not_before(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    short_retention: ServiceProcess,
    nats_url: str,
) -> None:
    await loopback(config_svc, cert_svc, f"{short_retention.base_url}/as2", "sync")
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        erp = await EventConsumer.open(js, "slow-erp", RECEIVED_SUBJECTS)  # reads late
        store = DocumentStore(await documents_bucket(js), js)
        theirs = await send_document(nc, b"R" * 300_000, station="A", partner="B")  # by reference
        ours = await send_document(nc, b"ISA*00*inline~", station="A", partner="B")  # inline
        assert theirs.document is not None
        delivered = await events_of(js, "MessageDelivered", count=2)
        assert {d["data"]["request_id"] for d in delivered} == {
            theirs.request_id,
            ours.request_id,
        }
        sent = [
            e["data"]["document"]["name"] for e in await events_of(js, "MessageQueued", count=2)
        ]
        # Kept with them: each message as sent, the partner's MDN as received.
        sent += [e["data"]["raw"]["name"] for e in await events_of(js, "MessageSent", count=2)]
        sent += [e["data"]["raw"]["name"] for e in await events_of(js, "MdnReceived", count=2)]
        arrivals = await events_of(js, "MessageReceived", count=2)
        received = [e["data"]["document"]["name"] for e in arrivals]
        as_received = [e["data"]["raw"]["name"] for e in arrivals]
        assert theirs.document.name in sent
        every = [*sent, *received, *as_received]
        assert len(set(every)) == 10
        stored: list[Any] = [await store.stored(name) for name in every]
        assert None not in stored  # right after delivery: all there

        await _gone(store, sent, "the sent documents deleted (settled for 3 s)")
        # By now the received ones are three times their grace old, but slow-erp has not
        # acknowledged them: they stay.
        assert [await store.stored(name) is not None for name in received] == [True, True]
        taken = await erp.next(wait=5)  # reads and acknowledges both
        assert sorted(e.data.document.name for e in taken) == sorted(received)  # type: ignore[attr-defined]
        await _gone(store, received, "the received documents deleted")
        # The messages as received are the record of what the partner signed: they stay for
        # the whole retention (1 h here), read or not.
        assert [await store.stored(name) is not None for name in as_received] == [True, True]
    finally:
        await nc.close()
