"""``add_to_outbox`` records several events in one statement, in order (SQLite, real file)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import sqlalchemy as sa

from as2bus.contracts import Deleted, StationDeleted
from as2bus.shared.db import create_engine, new_metadata, session_factory
from as2bus.shared.outbox import add_to_outbox, outbox_table


def deleted(as2_id: str) -> StationDeleted:
    return StationDeleted(data=Deleted(id=uuid.uuid4(), revision=1, as2_id=as2_id))


async def test_events_are_recorded_in_order_with_their_extra_columns(tmp_path: Path) -> None:
    metadata = new_metadata()
    table = outbox_table(metadata, sa.Column("note", sa.String(20), nullable=True))
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    statements: list[str] = []
    sa.event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        sessions = session_factory(engine)
        first, second, third = deleted("A"), deleted("B"), deleted("C")
        statements.clear()
        async with sessions() as session, session.begin():
            await add_to_outbox(session, table, first, second, third, note="batch")
            await add_to_outbox(session, table, deleted("D"))
            await add_to_outbox(session, table)  # nothing to record: no statement
        inserts = [s for s in statements if s.startswith("INSERT")]
        async with sessions() as session:
            rows = (await session.execute(sa.select(table).order_by(table.c.seq))).all()
    finally:
        await engine.dispose()
    assert len(inserts) == 2  # one for the three events, one for the fourth
    assert [json.loads(r.payload)["data"]["as2_id"] for r in rows] == ["A", "B", "C", "D"]
    assert [r.event_id for r in rows[:3]] == [e.event_id for e in (first, second, third)]
    assert [r.note for r in rows] == ["batch", "batch", "batch", None]
