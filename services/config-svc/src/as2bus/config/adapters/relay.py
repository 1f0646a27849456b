"""The outbox relay: publishes committed events, then mirrors the entity into the KV bucket.

Why an outbox: the database commit and the publish cannot be one atomic act. Writing the event
into the ``outbox`` table in the same transaction as the change means a crash after the commit
loses nothing: the relay publishes whatever is still in the table when it next runs. A crash
after publishing but before deleting the row publishes again; the same ``Nats-Msg-Id`` makes
JetStream drop the copy, and the KV write is guarded by the entity's revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import sqlalchemy as sa
from faststream.nats import NatsBroker
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.config.adapters.tables import outbox
from as2bus.shared.bus import publish_event
from as2bus.shared.contracts import parse_event

log = logging.getLogger(__name__)

PUBLISHED = Counter("as2bus_config_events_published_total", "Events relayed from the outbox")
PENDING = Gauge("as2bus_config_outbox_pending", "Events committed but not yet published")
FAILURES = Counter("as2bus_config_relay_failures_total", "Relay passes that failed and will retry")


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        broker: NatsBroker,
        kv: KeyValue,
        *,
        batch_size: int = 100,
        idle_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._broker = broker
        self._kv = kv
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self.last_error: str | None = None

    def wake(self) -> None:
        """Called after a commit so the event goes out now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            # Clear before draining: a commit that lands during the drain sets it again.
            self._wake.clear()
            try:
                while await self.drain_once():
                    pass
                self.last_error = None
            except Exception as err:  # NATS down, DB down: keep the rows, try again later
                FAILURES.inc()
                self.last_error = f"{type(err).__name__}: {err}"
                log.warning("outbox relay pass failed, will retry: %s", self.last_error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle_seconds)

    async def drain_once(self) -> int:
        """Publish one batch in commit order; returns how many rows went out."""
        async with self._sessions() as session:
            query = sa.select(outbox).order_by(outbox.c.seq).limit(self._batch_size)
            rows = (await session.execute(query)).all()
        PENDING.set(len(rows))
        for row in rows:
            await publish_event(self._broker, parse_event(row.payload))
            await mirror(self._kv, row.kv_key, row.kv_value, row.revision)
            async with self._sessions() as session, session.begin():
                await session.execute(sa.delete(outbox).where(outbox.c.seq == row.seq))
            PUBLISHED.inc()
        return len(rows)


async def mirror(kv: KeyValue, key: str, value: str | None, revision: int) -> None:
    """Make ``key`` hold ``value`` unless the bucket already has this revision or a newer one.

    Compare-and-set on the bucket's own sequence, so two relays (two replicas of config-svc)
    cannot put an older state over a newer one.
    """
    for _ in range(5):
        try:
            entry = await kv.get(key)
        except KeyNotFoundError as err:
            # nats-py reports a tombstone as "not found" with the delete operation attached.
            if err.op is not None:
                return  # ids are never reused: a deleted entity stays deleted
            entry = None
        if entry is not None and entry.value and json.loads(entry.value)["revision"] >= revision:
            return
        try:
            if value is None:
                await kv.delete(key, last=entry.revision if entry else None)
            elif entry is None:
                await kv.create(key, value.encode())
            else:
                await kv.update(key, value.encode(), last=entry.revision)
            return
        except KeyWrongLastSequenceError:
            continue  # someone wrote in between: read again and decide again
    raise RuntimeError(f"could not update {key} in the config bucket after 5 tries")
