"""Follow the current configuration from any service, whenever it starts.

config-svc keeps the ``as2_config`` key-value bucket equal to its database (non-secret state,
one key per entity, deletes as tombstones). A watcher first receives every current value, then
each change: that is "load the current configuration, then follow it" in one mechanism, and it
does not depend on how long the events stream keeps history.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from as2bus.contracts.config import PartnershipState, PartnerState, StationState
from as2bus.contracts.subjects import CONFIG_BUCKET

_MODELS: dict[str, type[StationState] | type[PartnerState] | type[PartnershipState]] = {
    "station": StationState,
    "partner": PartnerState,
    "partnership": PartnershipState,
}


async def config_bucket(js: JetStreamContext, *, replicas: int = 1) -> KeyValue:
    """The configuration bucket, created if missing (config-svc and readers alike)."""
    try:
        return await js.key_value(CONFIG_BUCKET)
    except BucketNotFoundError:
        return await js.create_key_value(
            bucket=CONFIG_BUCKET,
            description="as2bus current configuration (non-secret), kept by config-svc",
            history=1,
            replicas=replicas,
        )


class ConfigReplica:
    """An in-memory copy of stations, partners and partnerships that stays current."""

    def __init__(self) -> None:
        self.stations: dict[uuid.UUID, StationState] = {}
        self.partners: dict[uuid.UUID, PartnerState] = {}
        self.partnerships: dict[uuid.UUID, PartnershipState] = {}
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watcher: Any = None
        self._kv: KeyValue | None = None
        #: The bucket's stream sequence of the newest change applied, and a signal per change.
        self._applied_sequence = 0
        self._changed = asyncio.Condition()

    async def start(self, js: JetStreamContext) -> None:
        """Begin following; returns once every current value has been loaded."""
        kv = self._kv = await config_bucket(js)
        self._watcher = await kv.watchall()
        self._task = asyncio.create_task(self._follow(), name="config-replica")
        await self.ready.wait()

    async def stop(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def catch_up(self, timeout: float = 2.0) -> bool:
        """Wait until every change stored before this call is applied (at most ``timeout``);
        whether it was. For a miss right after a change, e.g. a send to a partnership created a
        moment ago: the watcher may not have delivered it yet, and the miss would be wrong."""
        if self._kv is None:
            return False
        try:
            status = await self._kv.status()
        except Exception:  # NATS unreachable: answer from what we have
            return False
        newest = status.stream_info.state.last_seq
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self._applied_sequence >= newest)
        except TimeoutError:
            return False
        return True

    def find_partnership(self, station_as2_id: str, partner_as2_id: str) -> PartnershipState | None:
        for p in self.partnerships.values():
            if p.station_as2_id == station_as2_id and p.partner_as2_id == partner_as2_id:
                return p
        return None

    async def _follow(self) -> None:
        async for entry in self._watcher:
            if entry is None:  # the watcher's marker: all current values have been delivered
                self.ready.set()
                continue
            self.apply(entry.key, entry.value, deleted=entry.operation in ("DEL", "PURGE"))
            async with self._changed:
                self._applied_sequence = max(self._applied_sequence, entry.revision or 0)
                self._changed.notify_all()

    def apply(self, key: str, value: bytes | None, *, deleted: bool) -> None:
        entity, _, raw_id = key.partition(".")
        table: dict[uuid.UUID, Any] = getattr(self, f"{entity}s", {})
        model = _MODELS.get(entity)
        if model is None:
            return  # a key this version does not know: ignore, as with unknown event fields
        entity_id = uuid.UUID(raw_id)
        if deleted or not value:
            table.pop(entity_id, None)
            return
        state = model.model_validate_json(value)
        current = table.get(entity_id)
        if current is None or current.revision < state.revision:
            table[entity_id] = state
