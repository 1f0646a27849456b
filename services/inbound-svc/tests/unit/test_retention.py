"""Which received documents a purge deletes: a grace period after their event was consumed,
the latest deadline after it was published, never those still unread before that (SQLite on
a temporary file; a fake object store and a fake consumption floor)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from as2bus.inbound.adapters.retention import ReceivedDocuments
from as2bus.inbound.adapters.tables import metadata, received_messages
from as2bus.shared.db import create_engine, session_factory

START = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class FakeStore:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    async def delete(self, name: str) -> bool:
        self.deleted.append(name)
        return True


def row(name: str, seq: int | None, hours_ago: float) -> dict[str, Any]:
    return {"partner": "P", "message_id": name, "station": "S", "status": "delivered",
            "document": name, "received_at": START - timedelta(hours=hours_ago),
            "event_seq": seq}  # fmt: skip


async def test_consumed_documents_go_after_the_grace_unread_ones_at_the_latest_deadline(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(
            sa.insert(received_messages),
            [
                row("read", 5, 1),  # its consumers are past it
                row("unread", 9, 1),  # a consumer is still before it
                row("unread-old", 8, 800),  # unread, but older than the latest deadline
                row("no-seq", None, 1),  # from before sequences were kept: only the deadline
            ],
        )
    now, floor = [START], [5]

    async def consumed_up_to() -> int | None:
        return floor[0]

    store = FakeStore()
    purge = ReceivedDocuments(
        sessions,
        store,  # type: ignore[arg-type]
        consumed_up_to,
        grace=timedelta(hours=24),
        keep=timedelta(hours=720),
        clock=lambda: now[0],
    )
    assert await purge.purge() == 1  # consumption noted now; the grace starts
    assert store.deleted == ["unread-old"]
    now[0] = START + timedelta(hours=25)
    assert await purge.purge() == 1
    assert store.deleted == ["unread-old", "read"]
    floor[0] = 9  # the slow consumer caught up: its grace starts now, not at receipt
    assert await purge.purge() == 0
    now[0] = START + timedelta(hours=50)
    assert await purge.purge() == 1
    assert store.deleted == ["unread-old", "read", "unread"]
    await engine.dispose()


async def test_the_message_as_received_stays_until_the_latest_deadline_consumed_or_not(
    tmp_path: Path,
) -> None:
    """The document goes a grace period after it was read; the message as received (what the
    partner signed) is the record and stays for the whole retention."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(
            sa.insert(received_messages),
            [row("read", 5, 1) | {"raw_document": "read/as-received"},
             row("old", 5, 690) | {"raw_document": "old/as-received"}],
        )  # fmt: skip
    now = [START]

    async def consumed_up_to() -> int | None:
        return 5

    store = FakeStore()
    purge = ReceivedDocuments(
        sessions,
        store,  # type: ignore[arg-type]
        consumed_up_to,
        grace=timedelta(hours=24),
        keep=timedelta(hours=720),
        clock=lambda: now[0],
    )
    assert await purge.purge() == 0
    now[0] = START + timedelta(hours=25)
    assert await purge.purge() == 2  # both documents: read and past the grace
    assert sorted(store.deleted) == ["old", "read"]
    now[0] = START + timedelta(hours=31)
    assert await purge.purge() == 1  # "old" was received 721 h ago: its record goes
    assert store.deleted[-1] == "old/as-received"
    now[0] = START + timedelta(hours=720)
    assert await purge.purge() == 1
    assert store.deleted[-1] == "read/as-received"
    assert await purge.purge() == 0  # each deleted once
    await engine.dispose()


async def test_the_documents_after_the_first_go_with_it(tmp_path: Path) -> None:
    """A message of three documents (RFC 6362): all three are deleted, once."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(
            sa.insert(received_messages),
            [row("three", 5, 800) | {"attachments": 2}, row("one", 6, 800) | {"attachments": 0}],
        )

    async def consumed_up_to() -> int | None:
        return None

    store = FakeStore()
    purge = ReceivedDocuments(
        sessions,
        store,  # type: ignore[arg-type]
        consumed_up_to,
        grace=timedelta(hours=24),
        keep=timedelta(hours=720),
        clock=lambda: START,
    )
    assert await purge.purge() == 2
    assert sorted(store.deleted) == ["one", "three", "three/attachment-1", "three/attachment-2"]
    assert await purge.purge() == 0
    await engine.dispose()


async def test_a_document_deleted_unread_is_logged_and_counted_and_the_oldest_unread_is_measured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator hears of a document before its deadline (the age of the oldest one still
    unread) and of each one deleted unread (a warning naming the message, a counter); a
    document read in time is neither."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(
            sa.insert(received_messages),
            [
                row("<read@p>", 5, 700) | {"attachments": 0},
                row("<unread@p>", 9, 700) | {"attachments": 1},
            ],
        )
    now, floor = [START], [5]

    async def consumed_up_to() -> int | None:
        return floor[0]

    def deleted_unread() -> float:
        return REGISTRY.get_sample_value("as2bus_inbound_documents_deleted_unread_total") or 0.0

    store = FakeStore()
    purge = ReceivedDocuments(
        sessions,
        store,  # type: ignore[arg-type]
        consumed_up_to,
        grace=timedelta(hours=24),
        keep=timedelta(hours=720),
        clock=lambda: now[0],
    )
    before = deleted_unread()
    assert await purge.purge() == 0
    oldest = REGISTRY.get_sample_value("as2bus_inbound_oldest_unread_document_age_seconds")
    assert oldest == 700 * 3600  # the unread one; the read one no longer counts
    now[0] = START + timedelta(hours=21)
    with caplog.at_level(logging.WARNING, logger="as2bus.inbound.adapters.retention"):
        assert await purge.purge() == 2  # both past the latest deadline
    assert sorted(store.deleted) == ["<read@p>", "<unread@p>", "<unread@p>/attachment-1"]
    assert deleted_unread() - before == 2  # the unread message's two documents
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage() == (
        "deleted 2 received document(s) of message <unread@p> from P, received 2026-11-05 "
        "08:00Z, unread: a durable consumer of MessageReceived had not acknowledged it within "
        "AS2BUS_INBOUND_DOCUMENT_RETENTION_HOURS (720 hours)"
    )
    assert REGISTRY.get_sample_value("as2bus_inbound_oldest_unread_document_age_seconds") == 0
    await engine.dispose()


async def test_a_grace_of_zero_deletes_a_document_at_the_first_check_after_it_was_consumed(
    tmp_path: Path,
) -> None:
    """AS2BUS_INBOUND_DOCUMENT_GRACE_HOURS=0 means no grace, not "forever" (docs/integrating.md,
    step 5): an unread document stays, a read one goes at the next check."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(sa.insert(received_messages), [row("a", 5, 1), row("b", 6, 1)])
    now = [START]

    async def consumed_up_to() -> int | None:
        return 5

    store = FakeStore()
    purge = ReceivedDocuments(
        sessions,
        store,  # type: ignore[arg-type]
        consumed_up_to,
        grace=timedelta(0),
        keep=timedelta(hours=720),
        clock=lambda: now[0],
    )
    assert await purge.purge() == 0  # consumption noted at this check
    now[0] = START + timedelta(seconds=1)
    assert await purge.purge() == 1
    assert store.deleted == ["a"]  # "b" is not consumed yet
    await engine.dispose()
