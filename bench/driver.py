"""Sending documents through the stack and timing them: from just before the send request is
published (the document stored first, as ``send_document`` does) to the MdnReceived event that
settles it, as seen by a subscriber of the few events that tell it (``WATCHED``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from as2bus.contracts import (
    MdnReceived,
    MessageFailed,
    MessageQueued,
    MessageRejected,
    SendOverrides,
)
from as2bus.contracts.send import send_document
from bench.stack import PARTNER, STATION

#: What the driver needs to follow an exchange: its Message-ID, then its outcome. Not every
#: event (``as2.evt.>``): the others of each exchange cost the load generator, on the machine
#: it shares with the stack, more than half its CPU (0.50-0.57 ms per exchange, 0.20-0.27
#: without them; benchmarks finding 24).
WATCHED = [
    MessageQueued.subject,
    MdnReceived.subject,
    MessageFailed.subject,
    MessageRejected.subject,
]

SEGMENT = b"ISA*00*          *00*          *ZZ*DEMOA          *ZZ*DEMOB          *~\n"


def document(size: int, tag: str) -> bytes:
    """An EDI-looking document of exactly ``size`` bytes that starts with a unique tag, so each
    delivered copy can be traced back to its send request."""
    head = f"BENCH*{tag}~\n".encode()
    body = SEGMENT * (max(0, size - len(head)) // len(SEGMENT) + 1)
    return (head + body)[:size]


@dataclass
class Exchange:
    request_id: str
    published: float
    message_id: str | None = None
    delivered: float | None = None
    failure: str | None = None


@dataclass
class Watcher:
    """Every exchange's fate, from a core subscription to the events (arrival times)."""

    exchanges: dict[str, Exchange] = field(default_factory=dict)
    by_message_id: dict[str, Exchange] = field(default_factory=dict)
    early_mdns: dict[str, tuple[float, bool, str]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_event(self, msg: Msg) -> None:
        now = time.monotonic()
        event: dict[str, Any] = json.loads(msg.data)
        kind, data = event["event_type"], event["data"]
        if kind == "MessageQueued" and (ex := self.exchanges.get(data["request_id"])):
            ex.message_id = data["message_id"]
            self.by_message_id[ex.message_id] = ex
            # An async MDN comes from inbound-svc and may overtake outbound's MessageQueued.
            if early := self.early_mdns.pop(ex.message_id, None):
                self._settle(ex, *early)
        elif kind == "MdnReceived":
            mid, verdict = data["original_message_id"], data["disposition"]
            ok = verdict == "processed" and data.get("mic_matches") is not False
            if ex := self.by_message_id.get(mid):
                self._settle(ex, now, ok, f"MDN {verdict}")
            else:
                self.early_mdns.setdefault(mid, (now, ok, f"MDN {verdict}"))
        elif kind in ("MessageFailed", "MessageRejected"):
            ex = self.exchanges.get(data.get("request_id") or "")
            if ex is not None and ex.delivered is None:
                ex.failure = f"{kind}: {data.get('reason')}"
        self.changed.set()

    @staticmethod
    def _settle(ex: Exchange, when: float, ok: bool, verdict: str) -> None:
        if ex.delivered is None and ex.failure is None:  # the first MDN counts
            ex.delivered = when if ok else None
            ex.failure = None if ok else verdict

    def settled(self, ids: list[str]) -> int:
        return sum(
            1 for i in ids if self.exchanges[i].delivered or self.exchanges[i].failure is not None
        )


class Driver:
    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.nc: Client | None = None
        self.watch = Watcher()

    async def __aenter__(self) -> Driver:
        self.nc = await nats.connect(self.nats_url, max_reconnect_attempts=5)
        for subject in WATCHED:
            await self.nc.subscribe(subject, cb=self.watch.on_event, pending_msgs_limit=1 << 20)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.nc is not None:
            await self.nc.close()

    async def send(
        self, size: int, *, mdn: str = "sync", tag: str = "", encoding: str = "binary"
    ) -> str:
        """One send request; ``encoding``: the body's Content-Transfer-Encoding (the demo
        partnership's is binary)."""
        assert self.nc is not None
        request_id = f"{tag}{uuid.uuid4()}"
        data = document(size, request_id)
        self.watch.exchanges[request_id] = Exchange(request_id, time.monotonic())
        changes: dict[str, str] = {"mdn_mode": "async"} if mdn == "async" else {}
        if encoding != "binary":
            changes["encoding"] = encoding
        overrides = SendOverrides.model_validate(changes) if changes else None
        await send_document(
            self.nc,
            data,
            station=STATION,
            partner=PARTNER,
            filename=f"{request_id}.edi",
            request_id=request_id,
            overrides=overrides,
        )
        return request_id

    async def wait(self, ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.watch.settled(ids) < len(ids) and time.monotonic() < deadline:
            self.watch.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.watch.changed.wait(), timeout=1)

    async def warm_up(self, timeout: float = 90) -> None:
        """One exchange, repeated until it works: the services follow the configuration through
        the bus and may not know the demo partnership yet; keys and connections get cached."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = [await self.send(1024, tag="warmup-")]
            await self.wait(ids, 30)
            ex = self.watch.exchanges[ids[0]]
            if ex.delivered:
                return
            await asyncio.sleep(1)
        raise RuntimeError(f"the stack never delivered a warm-up exchange: {ex.failure}")

    async def burst(
        self, n: int, size: int, mdn: str, timeout: float, encoding: str = "binary"
    ) -> list[Exchange]:
        """``n`` send requests as fast as they can be published, then wait for all of them."""
        gate = asyncio.Semaphore(32)

        async def one() -> str:
            async with gate:
                return await self.send(size, mdn=mdn, encoding=encoding)

        ids = await asyncio.gather(*(one() for _ in range(n)))
        await self.wait(list(ids), timeout)
        return [self.watch.exchanges[i] for i in ids]

    async def steady(
        self, rate: float, seconds: float, size: int, mdn: str, timeout: float
    ) -> list[Exchange]:
        """A fixed offered load: one send request every 1/rate seconds for ``seconds``."""
        count = max(1, round(rate * seconds))
        start, ids, pending = time.monotonic(), [], set()
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            task = asyncio.create_task(self.send(size, mdn=mdn))
            pending.add(task)
            task.add_done_callback(pending.discard)
            ids.append(task)
        done = [await t for t in ids]
        await self.wait(done, timeout)
        return [self.watch.exchanges[i] for i in done]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(exchanges: list[Exchange]) -> dict[str, Any]:
    """Rate over the whole batch (first publish to last delivery) and latency percentiles."""
    done = [e for e in exchanges if e.delivered is not None]
    latencies = [e.delivered - e.published for e in done if e.delivered is not None]
    first = min(e.published for e in exchanges)
    last = max((e.delivered for e in done if e.delivered is not None), default=first)
    failures = sorted({e.failure or "no outcome" for e in exchanges if e.delivered is None})
    return {
        "sent": len(exchanges),
        "delivered": len(done),
        "failures": failures[:5],
        "seconds": round(last - first, 3),
        "exchanges_per_s": round(len(done) / (last - first), 2) if last > first else 0.0,
        "latency_s": {f"p{q}": round(percentile(latencies, q), 4) for q in (50, 95, 99)}
        | {"max": round(max(latencies, default=float("nan")), 4)},
    }
