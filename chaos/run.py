"""``make chaos``: each scenario is its own run of the real stack (``chaos.stack``, the bench's
stack): a steady load of send requests through the loopback partnership DEMO-A → DEMO-B (our
own inbound-svc is the partner), a fault in the middle of it (``chaos.scenarios``: one process
SIGKILLed and started again by the supervisor; the partner stopped for minutes; the network to
it paused by ``chaos.proxy``; its async MDNs swallowed), requests on until after the fault,
then the count of what became of every request:

- from the bus (the AS2_EVENTS stream, read whole after the run) and the receiving side (each
  MessageReceived, and the stored document, which starts with its request's id):
  **delivered once**; **delivered twice** (the partner got it more than once); **lost** (the
  partner never got it, yet nothing said it failed: reported delivered, or no trace at all);
  **stuck** (queued, no final outcome by the deadline); **failed** (MessageFailed or
  MessageRejected: the sender is told, but with a healthy partner it is a defect here too;
  a scenario whose fault makes one failure the right outcome declares its code, and such
  failures are counted apart, as expected);
- **settled after**: from the kill to the last request's final outcome;
- **tracklog-svc's view**: each request's row with the bus's outcome, each received
  message's inbound row, within a minute of settling (a row missing or wrong fails it).

The goal is 0 lost, 0 delivered twice, 0 stuck, 0 failed. Then ``chaos.slow_clients`` (the
key ``slow-clients``). Results: ``chaos/results/<key>.json``; the tables between the markers
in docs/reliability.md are regenerated from every result there.
Exit code 0 only when every scenario run passes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from as2bus.contracts import DocumentRef, SendOverrides
from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.send import send_document
from as2bus.shared.bus.documents import DocumentStore
from bench import procfs
from bench.driver import Driver, document
from bench.scale_out import all_events, metric
from bench.stack import PARTNER, STATION
from chaos import slow_clients
from chaos.proxy import MdnSink, PausableProxy
from chaos.report import update_docs
from chaos.scenarios import (
    BY_KEY,
    LEASE_SECONDS,
    NO_FAULT,
    SCENARIOS,
    Load,
    Scenario,
    fate_of,
)
from chaos.stack import ChaosStack

FINAL = ("MessageDelivered", "MessageFailed", "MessageRejected")
RESULTS = Path(__file__).parent / "results"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"


class Outcomes:
    """When each request's final outcome was seen, from an ordered consumer of the events
    stream (it resumes after a reconnect, even to a restarted nats-server)."""

    def __init__(self, ids: set[str]) -> None:
        self.ids = ids
        self.final_at: dict[str, float] = {}

    async def on_event(self, msg: Msg) -> None:
        event = json.loads(msg.data)
        rid = event["data"].get("request_id")
        if event["event_type"] in FINAL and rid in self.ids:
            self.final_at.setdefault(rid, time.monotonic())

    def add(self, events: list[dict[str, Any]]) -> None:
        """What a read of the whole stream found (a fallback, should the consumer stall)."""
        now = time.monotonic()
        for e in events:
            if e["event_type"] in FINAL and (rid := e["data"].get("request_id")) in self.ids:
                self.final_at.setdefault(rid, now)

    def all_final(self) -> bool:
        return len(self.final_at) == len(self.ids)


async def publish(nc: Client, request_id: str, size: int, mdn: str, retries: Counter[str]) -> None:
    """Publish one send request as a careful client does: when the bus is away, the same
    request again (its id is the Nats-Msg-Id: the stream drops a second copy)."""
    data = document(size, request_id)
    overrides = SendOverrides(mdn_mode="async") if mdn == "async" else None
    deadline = time.monotonic() + 120
    while True:
        try:
            await send_document(nc, data, station=STATION, partner=PARTNER,
                                filename=f"{request_id}.edi", request_id=request_id,
                                overrides=overrides)  # fmt: skip
            return
        except (nats.errors.Error, TimeoutError, OSError):
            if time.monotonic() > deadline:
                raise
            retries["publish"] += 1
            await asyncio.sleep(0.5)


async def wait_in_flight(stack: ChaosStack, name: str, timeout: float = 30) -> int:
    """Until the outbound replica has a POST in flight (its metrics say so)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=stack.service(name).base_url, timeout=5) as http:
        while time.monotonic() < deadline:
            in_flight = metric((await http.get("/metrics")).text, "in_flight")
            if in_flight > 0:
                return int(in_flight)
            await asyncio.sleep(0.01)
    return 0


@dataclass
class Net:
    """The network pieces a scenario puts between the services (None: not used)."""

    proxy: PausableProxy | None = None
    sink: MdnSink | None = None

    def stop(self) -> None:
        for piece in (self.proxy, self.sink):
            if piece is not None:
                piece.stop()


async def fault(
    stack: ChaosStack, scenario: Scenario, started: float, net: Net | None = None
) -> dict[str, Any]:
    info: dict[str, Any] = {"target": scenario.target, "how": scenario.how}
    if scenario.mid_send:
        info["in_flight_at_kill"] = await wait_in_flight(stack, scenario.target)
    info["killed_at_s"] = round(time.monotonic() - started, 2)
    killed = time.monotonic()
    info["killed_monotonic"] = info["back_monotonic"] = killed
    if scenario.target == NO_FAULT or scenario.how == "none":  # nothing killed
        return info
    if scenario.how == "pause":
        assert net is not None
        assert net.proxy is not None
        net.proxy.pause()
        await asyncio.sleep(scenario.restart_after)
        net.proxy.resume()
    else:
        info["killed_pid"] = stack.pid_of(scenario.target)
        if scenario.how == "stop":  # SIGTERM, a clean stop; down until started again
            await asyncio.to_thread(stack.service(scenario.target).stop)
        else:
            stack.kill(scenario.target)
        await asyncio.sleep(scenario.restart_after)
        await stack.restart(scenario.target)
    info["back_monotonic"] = time.monotonic()
    info["back_after_s"] = round(time.monotonic() - killed, 2)
    return info


async def count(
    js: JetStreamContext, ids: set[str], expect_failed: str | None = None
) -> dict[str, Any]:
    """What became of each request, from the whole events stream and the stored documents.
    With ``expect_failed``, a request that ends in MessageFailed with that code, its message
    received by the partner exactly once, is counted as "failed as expected", not "failed"."""
    events = await all_events(js)
    queued: dict[str, set[str]] = defaultdict(set)
    outcomes: dict[str, list[str]] = defaultdict(list)
    codes: dict[str, set[str | None]] = defaultdict(set)
    received: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    duplicates = 0
    received_events: list[dict[str, Any]] = []
    for e in events:
        kind, data = e["event_type"], e["data"]
        if kind == "MessageQueued" and data["request_id"] in ids:
            queued[data["request_id"]].add(data["message_id"])
        elif kind in FINAL and data.get("request_id") in ids:
            outcomes[data["request_id"]].append(kind)
            codes[data["request_id"]].add(data.get("code"))
        elif kind == "MessageReceived":
            received[data["message_id"]] += 1
            received_events.append(data)
        elif kind == "MessageSent":
            sent[data["message_id"]] += 1
        elif kind == "MessageDuplicate":
            duplicates += 1
    request_of = {m: r for r, ms in queued.items() for m in ms}
    store = DocumentStore(await documents_bucket(js), js)
    wrong = 0
    for d in received_events:  # the document the partner got is the one its request sent
        if (rid := request_of.get(d["message_id"])) is None:
            continue
        try:
            data = await store.get(DocumentRef.model_validate(d["document"]))
        except ValueError:  # sha256 mismatch
            data = b""
        wrong += not data.startswith(f"BENCH*{rid}~".encode())
    fate: Counter[str] = Counter()
    for rid in ids:
        got = sum(received[m] for m in queued.get(rid, ()))
        said = outcomes.get(rid, [])
        fate[fate_of(got, said, codes[rid], rid in queued, expect_failed)] += 1
    return {
        "requested": len(ids),
        "delivered_once": fate["once"],
        "delivered_twice": fate["twice"],
        "lost": fate["lost"],
        "stuck": fate["stuck"],
        "failed": fate["failed"],
        "expected_failure": expect_failed,
        "failed_as_expected": fate["failed_as_expected"],
        "wrong_document": wrong,
        "queued_more_than_once": sum(1 for ms in queued.values() if len(ms) > 1),
        "more_than_one_outcome": sum(1 for o in outcomes.values() if len(o) > 1),
        "posted_more_than_once": sum(1 for m in request_of if sent[m] > 1),
        "resends_refused_as_duplicates": duplicates,
        "failure_reasons": sorted(
            {
                f"{e['event_type']}: {e['data'].get('reason')}"
                for e in events
                if e["event_type"] in ("MessageFailed", "MessageRejected")
                and e["data"].get("request_id") in ids
            }
        )[:5],
        # What the tracklog check compares with.
        "_outcome": {r: o[0] for r, o in outcomes.items()},
        "_received": sorted(m for m in request_of if received[m]),
    }


STATUS_OF = {"MessageDelivered": ("delivered", "delivered-with-warnings"),
             "MessageFailed": ("failed",), "MessageRejected": ("rejected",)}  # fmt: skip


async def rows(http: httpx.AsyncClient, direction: str) -> list[dict[str, Any]]:
    found, cursor = [], None
    while True:
        params: dict[str, str | int] = {"direction": direction, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/api/v1/messages", params=params)).raise_for_status().json()
        found += page["items"]
        if not (cursor := page["next_cursor"]):
            return found


async def tracklog_view(
    stack: ChaosStack, counted: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """tracklog-svc agrees with the bus: each settled request's row has its outcome, each
    received message has its inbound row. Polled until it does or ``timeout`` passes."""
    outcome, received = counted["_outcome"], set(counted["_received"])
    tracklog = stack.service("tracklog-svc")
    headers = {"Authorization": f"Bearer {stack.token}"}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=tracklog.base_url, headers=headers, timeout=30) as http:
        while True:
            try:
                outbound = {r["request_id"]: r["status"] for r in await rows(http, "outbound")}
                inbound = {r["message_id"]: r["status"] for r in await rows(http, "inbound")}
            except httpx.HTTPError as err:
                view: dict[str, Any] = {"error": str(err)}
            else:
                view = {
                    "outbound_rows_missing": sum(1 for r in outcome if r not in outbound),
                    "outbound_rows_wrong": sum(
                        1 for r, o in outcome.items() if r in outbound
                        and outbound[r] not in STATUS_OF[o]
                    ),
                    "inbound_rows_missing": len(received - set(inbound)),
                    "inbound_missing_examples": sorted(received - set(inbound))[:5],
                    "outbound_wrong_examples": [
                        f"{r}: {outbound[r]}, the bus says {o}" for r, o in outcome.items()
                        if r in outbound and outbound[r] not in STATUS_OF[o]
                    ][:5],
                    "inbound_statuses": dict(Counter(inbound[m] for m in received if m in inbound)),
                }  # fmt: skip
                wrong = view["outbound_rows_missing"] + view["outbound_rows_wrong"]
                if not (wrong + view["inbound_rows_missing"]):
                    return view | {"ok": True}
            if time.monotonic() > deadline:
                return view | {"ok": False}
            await asyncio.sleep(1)


def attempts_per_replica(stack: ChaosStack) -> dict[str, dict[str, int]]:
    """Each outbound replica's attempts so far and POSTs in flight now (a replica that holds
    slots in flight with nothing moving is a stalled send loop)."""
    names = {"attempts": "as2bus_outbound_attempts_total", "in_flight": "as2bus_outbound_in_flight"}
    return {
        s.name: {key: int(s.metric(metric)) for key, metric in names.items()}
        for s in stack.named("outbound-svc")
    }


async def warm_up(stack: ChaosStack, net: Net) -> None:
    """One exchange that works. With a proxy, until the exchange went through it: the
    partner's new URL reaches outbound-svc through the bus, a moment after config-svc."""
    deadline = time.monotonic() + 60
    async with Driver(stack.nats_url) as warm:
        await warm.warm_up()
        while net.proxy is not None and not net.proxy.connections:
            if time.monotonic() > deadline:
                raise RuntimeError("outbound-svc never sent through the proxy")
            await asyncio.sleep(0.5)
            await warm.warm_up()


async def drive(
    stack: ChaosStack, scenario: Scenario, load: Load, net: Net | None = None
) -> dict[str, Any]:
    net = net or Net()
    timing: dict[str, float] = {}
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        timing[name] = round(time.monotonic() - mark, 1)
        mark = time.monotonic()

    await warm_up(stack, net)
    phase("warm_up_s")
    retries: Counter[str] = Counter()

    async def on_error(err: Exception) -> None:  # a killed nats-server: reconnecting is normal
        retries["connection_errors"] += 1

    nc = await nats.connect(stack.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                            error_cb=on_error)  # fmt: skip
    try:
        js = nc.jetstream()
        ids: list[str] = []
        seen = Outcomes(set())
        await js.subscribe("as2.evt.>", cb=seen.on_event, ordered_consumer=True)
        started, tasks = time.monotonic(), []
        killer: asyncio.Task[dict[str, Any]] | None = None
        while True:
            due = started + len(ids) / load.rate
            back = killer.result()["back_monotonic"] if killer and killer.done() else None
            if load.over(len(ids), due, back):
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if killer is None and time.monotonic() - started >= load.fault_at:
                killer = asyncio.create_task(fault(stack, scenario, started, net))
            rid = f"chaos-{uuid.uuid4()}"
            ids.append(rid)
            seen.ids.add(rid)
            tasks.append(asyncio.create_task(publish(nc, rid, load.size, scenario.mdn, retries)))
        last_publish = time.monotonic()  # the last request's publish started
        await asyncio.gather(*tasks)
        assert killer is not None  # the loop ends only after the fault
        info = await killer
        phase("load_and_fault_s")
        published = time.monotonic()
        last_read = published
        while not seen.all_final() and time.monotonic() - published < load.settle_timeout:
            await asyncio.sleep(0.5)
            if time.monotonic() - last_read > 10:  # should the ordered consumer have stalled
                seen.add(await all_events(js))
                last_read = time.monotonic()
        settled = seen.all_final()
        killed, back = info.pop("killed_monotonic"), info.pop("back_monotonic")
        last = max(seen.final_at.values(), default=published)
        settle_s = round(last - killed, 1) if settled else None
        tail_s = round(last - last_publish, 1) if settled else None
        back_s = round(max(0.0, last - back), 1) if settled else None
        phase("settle_s")
        await asyncio.sleep(3)  # room for a late second delivery to show up
        counted = await count(js, set(ids), scenario.expect_failed)
        phase("count_s")
        view = await tracklog_view(stack, counted, timeout=60)
        phase("tracklog_s")
        attempts = await asyncio.to_thread(attempts_per_replica, stack)
    finally:
        await nc.close()
    counted.pop("_outcome"), counted.pop("_received")
    result = {
        "scenario": scenario.key,
        "what": scenario.what,
        "database": "PostgreSQL" if scenario.postgres else "SQLite",
        "stack": stack.describe(),
        "env": dict(scenario.env),
        "load": asdict(load),
        "fault": info,
        "publish_retries": retries["publish"],
        "attempts_per_outbound_replica": attempts,  # the restarted one counts anew
        "settled_after_kill_s": settle_s,
        "settled_after_last_request_s": tail_s,
        "settled_after_fault_ended_s": back_s,
        **counted,
        "tracklog": view,
        "timing": timing,
    }
    if net.proxy is not None:
        result["proxy"] = {"connections": net.proxy.connections,
                           "bytes_forwarded": net.proxy.bytes_forwarded}  # fmt: skip
    if net.sink is not None:
        result["mdns_swallowed"] = net.sink.requests
    result["ok"] = view["ok"] and not any(
        result[k] for k in ("delivered_twice", "lost", "stuck", "failed", "wrong_document")
    )
    return result


def set_up_net(stack: ChaosStack, scenario: Scenario) -> Net:
    """The scenario's proxy and MDN sink, and the partner's settings that lead through them."""
    net, changes = Net(), {}
    if scenario.proxy:
        net.proxy = PausableProxy(stack.service("inbound-svc-0").port).start()
        changes["as2_url"] = f"http://127.0.0.1:{net.proxy.port}/as2"
    if scenario.mdn_sink:
        net.sink = MdnSink().start()
        changes["async_mdn_url"] = net.sink.url
    if changes:
        stack.update_partner(PARTNER, **changes)
    return net


def run(scenario: Scenario, load: Load, keep: bool = False) -> dict[str, Any]:
    env = {"AS2BUS_OUTBOUND_LEASE_SECONDS": str(LEASE_SECONDS), **dict(scenario.env)}
    machine = procfs.machine()
    began = time.monotonic()
    stack = ChaosStack(postgres=scenario.postgres, outbound=scenario.outbound, env=env,
                       keep=keep)  # fmt: skip
    with stack:
        up = round(time.monotonic() - began, 1)
        print(f"[{scenario.key}] {stack.describe()} (logs: {stack.workdir})", flush=True)
        net = set_up_net(stack, scenario)
        try:
            result = asyncio.run(drive(stack, scenario, load, net))
        finally:
            net.stop()
        result["timing"] = {"stack_start_s": up, **result["timing"]}
        if not result["ok"]:
            stack.keep = True  # the services' logs say why
            result["logs"] = str(stack.workdir)
        stopping = time.monotonic()
    result["timing"]["stack_stop_s"] = round(time.monotonic() - stopping, 1)
    result["timing"]["total_s"] = round(time.monotonic() - began, 1)
    result["machine"] = {"load_avg_start": machine["load_avg_start"],
                         "load_avg_end": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.run", description=__doc__)
    parser.add_argument(
        "--only",
        nargs="*",
        choices=[*BY_KEY, slow_clients.KEY],
        help="these scenarios (slow-clients: the slow-client measurement)",
    )
    parser.add_argument("--quick", action="store_true", help="a small load (the test's)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--docs", type=Path, default=DOCS, help="the page to update")
    parser.add_argument("--no-docs", dest="docs", action="store_const", const=None)
    parser.add_argument("--keep", action="store_true", help="keep every run's logs and data")
    args = parser.parse_args(argv)
    load = Load(rate=4, seconds=8, fault_at=2, settle_timeout=60) if args.quick else Load()
    args.results.mkdir(parents=True, exist_ok=True)
    ok = True
    keys = args.only or [*BY_KEY, slow_clients.KEY]
    for scenario in [BY_KEY[k] for k in keys if k in BY_KEY]:
        try:
            result = run(scenario, load if args.quick else scenario.load or load, args.keep)
        except Exception as err:  # one broken run must not hide the others' figures
            result = {"scenario": scenario.key, "what": scenario.what, "ok": False,
                      "database": "PostgreSQL" if scenario.postgres else "SQLite",
                      "error": f"{type(err).__name__}: {err}"}  # fmt: skip
        ok = ok and result["ok"]
        (args.results / f"{scenario.key}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2), flush=True)
        if args.docs is not None:
            update_docs(args.docs, args.results, [s.key for s in SCENARIOS])
    if slow_clients.KEY in keys:
        try:
            result = slow_clients.run(args.keep)
        except Exception as err:
            result = {"scenario": slow_clients.KEY, "ok": False,
                      "error": f"{type(err).__name__}: {err}"}  # fmt: skip
        ok = ok and result["ok"]
        (args.results / f"{slow_clients.KEY}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2), flush=True)
        if args.docs is not None:
            update_docs(args.docs, args.results, [s.key for s in SCENARIOS])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
