"""config-svc's relay: the shared outbox relay, plus mirroring each entity into the KV bucket.

The bucket is how a service that starts later gets the current configuration (see
docs/architecture.md); the mirror never replaces a newer revision with an older one.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from faststream.nats import NatsBroker
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.config.adapters.tables import outbox
from as2bus.shared.outbox import OutboxRelay


def config_relay(
    sessions: async_sessionmaker[AsyncSession],
    broker: NatsBroker,
    kv: KeyValue,
    *,
    idle_seconds: float = 1.0,
) -> OutboxRelay:
    async def mirror_row(row: sa.Row[Any]) -> None:
        await mirror(kv, row.kv_key, row.kv_value, row.revision)

    return OutboxRelay(
        sessions,
        broker,
        outbox,
        service="config",
        on_published=mirror_row,
        idle_seconds=idle_seconds,
    )


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
