"""Slow clients on the AS2 endpoint (``make chaos`` runs it after the scenarios;
``python -m chaos.run --only slow-clients``).

The stack of the scenarios (SQLite), inbound-svc with its header and body timeouts set
(``AS2BUS_INBOUND_HEADER_TIMEOUT_SECONDS``, ``AS2BUS_INBOUND_BODY_TIMEOUT_SECONDS``). A normal
partner's exchange latency (outbound-svc → inbound-svc → its sync MDN, from the send request
to the MdnReceived, one exchange at a time) is measured without load, then again while
``CLIENTS`` slow clients hold connections to the endpoint, each reconnecting once cut off:

- **slow headers** (slowloris): the request line, then a header byte every ``DRIP`` s; must be
  answered (408) or cut off within the header timeout of the connection's opening;
- **slow body**: complete headers (a plausible AS2 request), then a body byte every ``DRIP`` s
  for ``TRICKLE`` s, then nothing more; must be cut off within the body timeout (an idle one:
  the longest wait for the next bytes) of its last byte;
- **short body**: complete headers with a Content-Length of 4,096, 1,000 bytes of body, then
  nothing more; the same.

It fails when a slow client is held beyond its timeout + ``MARGIN`` s, or when a normal
exchange fails. The figures go to ``chaos/results/slow-clients.json`` and docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from typing import Any

from bench import procfs
from bench.driver import Driver
from chaos.stack import ChaosStack

KEY = "slow-clients"
HEADER_TIMEOUT, BODY_TIMEOUT = 10.0, 10.0
CLIENTS = 200  # slow clients at once: a third of each kind
DRIP = 2.0  # seconds between a slow client's bytes
TRICKLE = 12.0  # how long a slow body keeps dripping before it stops
MARGIN = 3.0  # seconds of slack over a timeout (a 2-core machine shared with other work)
EXCHANGES = 100
SPACING = 0.2  # seconds from one exchange's start to the next's, at least: 20 s of them
KINDS = ("slow-headers", "slow-body", "short-body")


def _head(content_length: int) -> bytes:
    fields = {
        "Host": "127.0.0.1",
        "AS2-Version": "1.2",
        "AS2-From": "DEMO-A",
        "AS2-To": "DEMO-B",
        "Message-ID": f"<slow-{os.urandom(8).hex()}@chaos>",
        "Content-Type": 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
        "Content-Length": str(content_length),
    }
    lines = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return f"POST /as2 HTTP/1.1\r\n{lines}\r\n".encode()


class SlowClient:
    """One slow client, again and again until stopped; each connection's fate is recorded:
    (kind, how it ended, seconds from its reference point to the end, its allowance)."""

    def __init__(self, kind: str, port: int, record: list[tuple[str, str, float, float]]) -> None:
        self.kind, self.port, self.record = kind, port, record
        self.connections = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.once(stop)
            except OSError as err:  # refused or reset at connect: recorded, then again
                self.record.append((self.kind, f"connect: {type(err).__name__}", 0.0, 0.0))
                await asyncio.sleep(DRIP)

    async def once(self, stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.connections += 1
        opened = time.monotonic()
        reference, allowance = opened, HEADER_TIMEOUT
        read = asyncio.create_task(reader.read(4096))  # the answer, or b"" when cut off
        try:
            if self.kind == "slow-headers":
                writer.write(b"POST /as2 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                await writer.drain()
                while not read.done():
                    await asyncio.wait([read], timeout=DRIP)
                    if not read.done():
                        writer.write(b"a")
                        await writer.drain()
            else:
                length, sent = (4096, 1000) if self.kind == "short-body" else (100_000, 0)
                writer.write(_head(length) + b"\0" * sent)
                await writer.drain()
                reference, allowance = time.monotonic(), BODY_TIMEOUT
                while self.kind == "slow-body" and time.monotonic() - opened < TRICKLE:
                    await asyncio.wait([read], timeout=DRIP)
                    if read.done():
                        break
                    writer.write(b"\0")
                    await writer.drain()
                    reference = time.monotonic()  # the last byte: the idle timeout restarts
            # Now nothing more: it must be answered or cut off in time (waiting twice as long
            # as allowed, to measure by how much a late one is late).
            await asyncio.wait([read], timeout=2 * allowance + 10)
            if not read.done():
                if stop.is_set():  # the measurement is over: not a verdict
                    return
                self.record.append((self.kind, "held", time.monotonic() - reference, allowance))
                return
            answer = read.result()
            ended = time.monotonic() - reference
            how = answer.split(b"\r\n", 1)[0].decode(errors="replace") if answer else "closed"
            self.record.append((self.kind, how, ended, allowance))
        except (ConnectionResetError, BrokenPipeError):
            self.record.append((self.kind, "reset", time.monotonic() - reference, allowance))
        finally:
            read.cancel()
            writer.close()


def _latencies(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    if not ms:
        return {}
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1),
            "max_ms": round(ms[-1], 1)}  # fmt: skip


async def exchanges(driver: Driver, n: int) -> tuple[list[float], list[str]]:
    """``n`` exchanges one after the other, ``SPACING`` s apart at least (so that, under the
    slow load, they meet its waves of connections cut off and opened again): their
    latencies, and the failures."""
    took, failed = [], []
    began = time.monotonic()
    for i in range(n):
        await asyncio.sleep(max(0.0, began + i * SPACING - time.monotonic()))
        rid = await driver.send(2048, tag="slow-clients-")
        await driver.wait([rid], 60)
        ex = driver.watch.exchanges[rid]
        if ex.delivered is not None:
            took.append(ex.delivered - ex.published)
        else:
            failed.append(ex.failure or "no outcome within 60 s")
    return took, failed


async def measure(stack: ChaosStack) -> dict[str, Any]:
    port = stack.service("inbound-svc-0").port
    async with Driver(stack.nats_url) as driver:
        await driver.warm_up()
        quiet, quiet_failed = await exchanges(driver, EXCHANGES)
        record: list[tuple[str, str, float, float]] = []
        stop = asyncio.Event()
        clients = [SlowClient(KINDS[i % len(KINDS)], port, record) for i in range(CLIENTS)]
        tasks = [asyncio.create_task(c.run(stop)) for c in clients]
        await asyncio.sleep(DRIP + 1)  # every slow client connected and holding
        loaded_started = time.monotonic()
        loaded, loaded_failed = await exchanges(driver, EXCHANGES)
        # At least one whole cycle of each kind under way while the normal partner sends.
        await asyncio.sleep(max(0.0, loaded_started + TRICKLE + BODY_TIMEOUT + MARGIN
                                - time.monotonic()))  # fmt: skip
        stop.set()
        await asyncio.wait(tasks, timeout=2 * max(HEADER_TIMEOUT, BODY_TIMEOUT) + 15)
        for t in tasks:
            t.cancel()
        loaded_seconds = round(time.monotonic() - loaded_started, 1)
    late = [r for r in record if r[1] == "held" or r[2] > r[3] + MARGIN]
    by_kind: dict[str, Any] = {}
    for kind in KINDS:
        mine = [r for r in record if r[0] == kind]
        by_kind[kind] = {
            "connections_ended": len(mine),
            "how": dict(Counter(r[1] for r in mine)),
            "allowed_s": mine[0][3] if mine else None,
            "ended_after_s": {
                "min": round(min((r[2] for r in mine), default=0), 2),
                "max": round(max((r[2] for r in mine), default=0), 2),
            },
            "late": sum(1 for r in late if r[0] == kind),
        }
    result: dict[str, Any] = {
        "scenario": KEY,
        "stack": stack.describe(),
        "settings": {
            "header_timeout_s": HEADER_TIMEOUT,
            "body_timeout_s": BODY_TIMEOUT,
            "slow_clients": CLIENTS,
            "drip_s": DRIP,
            "trickle_s": TRICKLE,
            "margin_s": MARGIN,
            "exchanges": EXCHANGES,
            "spacing_s": SPACING,
        },
        "without_load": _latencies(quiet) | {"failed": len(quiet_failed)},
        "with_slow_clients": _latencies(loaded) | {"failed": len(loaded_failed)},
        "slow_load_seconds": loaded_seconds,
        "slow_connections": sum(c.connections for c in clients),
        "slow_clients": by_kind,
        "late_examples": [f"{k}: {how} after {t:.1f} s (allowed {a:g})" for k, how, t, a in late][
            :5
        ],
        "failures": sorted(set(quiet_failed + loaded_failed))[:5],
    }
    result["ok"] = not late and not quiet_failed and not loaded_failed and bool(record)
    return result


def run(keep: bool = False) -> dict[str, Any]:
    env = {"AS2BUS_INBOUND_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
           "AS2BUS_INBOUND_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT)}  # fmt: skip
    machine = procfs.machine()
    began = time.monotonic()
    stack = ChaosStack(postgres=False, env=env, keep=keep)
    with stack:
        print(f"[{KEY}] {stack.describe()} (logs: {stack.workdir})", flush=True)
        result = asyncio.run(measure(stack))
        if not result["ok"]:
            stack.keep = True
            result["logs"] = str(stack.workdir)
    result["total_s"] = round(time.monotonic() - began, 1)
    result["machine"] = {"load_avg_start": machine["load_avg_start"],
                         "load_avg_end": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    return result
