"""Which sent documents a purge deletes: only those of settled messages past the retention,
once each (SQLite on a temporary file; a fake object store)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from as2bus.outbound.adapters.retention import SentDocuments
from as2bus.outbound.adapters.tables import messages, metadata
from as2bus.shared.db import create_engine, session_factory

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class FakeStore:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    async def delete(self, name: str) -> bool:
        self.deleted.append(name)
        return True


def row(name: str, status: str, settled_hours_ago: float) -> dict[str, Any]:
    at = NOW - timedelta(hours=settled_hours_ago)
    ref = {"bucket": "as2_documents", "name": name, "size": 1, "sha256": "0" * 64}
    return {
        "id": uuid.uuid4(), "request_id": name, "message_id": f"<{name}@x>", "station": "A",
        "partner": "B", "content_type": "text/plain", "subject": "s", "document": ref,
        "status": status, "attempts": 1, "signed_mdn": False, "created_at": at, "updated_at": at,
    }  # fmt: skip


async def test_only_settled_messages_past_their_retention_lose_their_document(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(
            sa.insert(messages),
            [
                row("old-delivered", "delivered", 50),
                row("old-failed", "failed", 50),
                row("old-retrying", "retrying", 50),  # not settled: kept however old
                row("old-awaiting", "awaiting-mdn", 50),
                row("young-delivered", "delivered", 1),  # settled, within the retention
            ],
        )
    store = FakeStore()
    purge = SentDocuments(sessions, store, timedelta(hours=24), clock=lambda: NOW)  # type: ignore[arg-type]
    assert await purge.purge() == 2
    assert sorted(store.deleted) == ["old-delivered", "old-failed"]
    assert await purge.purge() == 0  # marked: never deleted twice
    await engine.dispose()


async def test_the_attachments_objects_go_with_their_message(tmp_path: Path) -> None:
    """Referenced attachments are deleted like the first document; those kept in the row have
    no object (their bytes go with the row's content, see the test below)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)

    def attachment(name: str | None) -> dict[str, Any]:
        ref = {"bucket": "as2_documents", "name": name, "size": 1, "sha256": "0" * 64}
        return {"filename": name, "content_type": "text/plain", "size": 1,
                "document": ref if name else None}  # fmt: skip

    several = row("several", "delivered", 50)
    several["attachments"] = [attachment("att-1"), attachment(None), attachment("att-2")]
    kept_first = row("kept-first", "failed", 50)
    kept_first.update(document=None, attachments=[attachment("att-3")])
    young = row("young", "delivered", 1)
    young["attachments"] = [attachment("att-young")]
    async with sessions() as session, session.begin():
        await session.execute(sa.insert(messages), [several, kept_first, young])
    store = FakeStore()
    purge = SentDocuments(sessions, store, timedelta(hours=24), clock=lambda: NOW)  # type: ignore[arg-type]
    assert await purge.purge() == 2
    assert sorted(store.deleted) == ["att-1", "att-2", "att-3", "several"]
    assert await purge.purge() == 0
    await engine.dispose()


async def test_documents_kept_in_the_row_stay_after_settling_until_the_retention(
    tmp_path: Path,
) -> None:
    """Small inline documents live only in the row's content: it stays once the message is
    settled (downloads, resends) and is cleared with the objects when the retention is over,
    also in a row that has nothing in the object store."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    rows = {
        "old-inline": row("old-inline", "failed", 50),
        "young-inline": row("young-inline", "delivered", 1),
        "old-retrying": row("old-retrying", "retrying", 50),
        "old-stored": row("old-stored", "delivered", 50) | {"content": None},
    }
    for name in ("old-inline", "young-inline", "old-retrying"):
        rows[name].update(document=None, content=b"ISA*" + name.encode())
    async with sessions() as session, session.begin():
        await session.execute(sa.insert(messages), list(rows.values()))
    store = FakeStore()
    purge = SentDocuments(sessions, store, timedelta(hours=24), clock=lambda: NOW)  # type: ignore[arg-type]
    assert await purge.purge() == 2
    assert store.deleted == ["old-stored"]
    async with sessions() as session:
        found = (await session.execute(sa.select(messages.c.request_id, messages.c.content))).all()
    assert {name: content for name, content in found} == {
        "old-inline": None,
        "young-inline": b"ISA*young-inline",
        "old-retrying": b"ISA*old-retrying",  # not settled: kept however old
        "old-stored": None,
    }
    assert await purge.purge() == 0
    await engine.dispose()
