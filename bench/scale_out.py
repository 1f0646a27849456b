"""Scale-out, proven on one machine (issue 7): several inbound-svc and outbound-svc replicas as
separate processes on one nats-server and one PostgreSQL database per service.

1. ``--messages`` documents through the loopback partnership DEMO-A → DEMO-B, no rate limit;
   one outbound replica is SIGKILLed once half of them are delivered, and restarted afterwards.
2. The partner gets ``rate_limit_per_second``; ``--limited`` more documents go through every
   replica, and the sends per second (MessageSent times) are compared with the limit.
3. Exactly once, from the events stream and the object store, not from what the driver saw:
   each request queued once, each Message-ID received (MessageReceived) once, none missing,
   none extra, no failure, and each stored document is the one its request sent.

Exit code 0 only when every check passes. The figures go to ``--results`` (JSON, Markdown).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from nats.js import JetStreamContext

from as2bus.contracts import DocumentRef
from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.shared.bus.documents import DocumentStore
from bench import procfs
from bench.driver import Driver, Exchange, summarize
from bench.stack import PARTNER, Service, Stack, stop_on_sigterm

LEASE_SECONDS = 10  # how soon another replica takes over what the killed one was sending


async def all_events(js: JetStreamContext) -> list[dict[str, Any]]:
    last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
    events: list[dict[str, Any]] = []
    for start in range(1, last + 1, 200):
        stop = min(last + 1, start + 200)
        raw = await asyncio.gather(*(js.get_msg(EVENTS_STREAM, s) for s in range(start, stop)))
        events += [json.loads(m.data) for m in raw if m.data]
    return events


async def exactly_once(js: JetStreamContext, request_ids: set[str]) -> dict[str, Any]:
    """Count, from the stream, what happened to our requests; fetch every delivered document."""
    events = await all_events(js)
    of: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        of.setdefault(e["event_type"], []).append(e["data"])
    queued = [d for d in of.get("MessageQueued", []) if d["request_id"] in request_ids]
    request_of = {d["message_id"]: d["request_id"] for d in queued}
    received = [d for d in of.get("MessageReceived", []) if d["message_id"] in request_of]
    by_id = Counter(d["message_id"] for d in received)
    sends = Counter(
        d["message_id"] for d in of.get("MessageSent", []) if d["message_id"] in request_of
    )
    store = DocumentStore(await documents_bucket(js), js)
    wrong = 0
    for d in received:  # the stored document must be the one this Message-ID's request sent
        try:
            data = await store.get(DocumentRef.model_validate(d["document"]))
        except ValueError:  # sha256 mismatch
            data = b""
        wrong += not data.startswith(f"BENCH*{request_of[d['message_id']]}~".encode())
    failed = [
        d
        for kind in ("MessageFailed", "MessageRejected")
        for d in of.get(kind, [])
        if d.get("request_id") in request_ids
    ]
    counts = {
        "requests": len(request_ids),
        "queued": len(queued),
        "queued_distinct": len({d["request_id"] for d in queued}),
        "received_distinct": len(by_id),
        "received_more_than_once": sum(1 for n in by_id.values() if n > 1),
        "missing": len(set(request_of) - set(by_id)),
        "wrong_document": wrong,
        "failed_or_rejected": len(failed),
        # What a failure said, so that a failed run can be understood from its report.
        "failure_reasons": sorted(
            {f"{d.get('modifier') or 'failed'}: {d.get('reason')}" for d in failed}
        )[:5],
        "posted_more_than_once": sum(1 for n in sends.values() if n > 1),
        "duplicates_refused_by_inbound": sum(
            1 for d in of.get("MessageDuplicate", []) if d["message_id"] in request_of
        ),
    }
    counts["ok"] = (
        counts["queued"] == counts["queued_distinct"] == counts["received_distinct"]
        == len(request_ids)
        and not (counts["received_more_than_once"] or counts["missing"] or wrong or failed)
    )  # fmt: skip
    return counts


def send_times(events: list[dict[str, Any]], message_ids: set[str]) -> list[float]:
    stamps = [
        datetime.fromisoformat(e["occurred_at"]).timestamp()
        for e in events
        if e["event_type"] == "MessageSent" and e["data"]["message_id"] in message_ids
    ]
    return sorted(stamps)


def rate_check(stamps: list[float], limit: float, slack_s: float = 2.0) -> dict[str, Any]:
    """Sends over the phase vs what the token bucket allows (burst max(1, limit), then limit/s).
    A MessageSent is stamped after its POST and MDN and relayed through the outbox, so the
    stamps may bunch by up to ``slack_s`` more than the claims did. Without the limit the
    same sends take a fraction of the span, so the check still tells."""
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    burst = max(1.0, limit)
    window = [sum(1 for t in stamps if s <= t < s + 1) for s in stamps]
    allowed = burst + limit * (span + slack_s)
    return {
        "limit_per_s": limit,
        "sends": len(stamps),
        "span_s": round(span, 2),
        "measured_per_s": round((len(stamps) - 1) / span, 2) if span else None,
        "after_burst_per_s": after_burst(stamps, int(burst)),
        "max_in_any_1s": max(window, default=0),
        "allowed_by_bucket": round(allowed, 1),
        "ok": len(stamps) <= allowed,
    }


def after_burst(stamps: list[float], burst: int) -> float | None:
    """The sustained rate: sends after the bucket's initial burst, per second."""
    rest = stamps[burst:]
    return round((len(rest) - 1) / (rest[-1] - rest[0]), 2) if len(rest) > 2 else None


async def drive(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with Driver(stack.nats_url) as driver:
        await driver.warm_up()
        assert driver.nc is not None
        js = driver.nc.jetstream()

        # 1. No limit, one outbound replica killed half-way.
        start = time.monotonic()
        victim = stack.named("outbound-svc")[0]
        share = args.messages // (2 * args.outbound)
        killer = asyncio.create_task(kill_mid_send(driver, share, victim))
        if not args.kill:
            killer.cancel()
        ids = await publish(driver, args.messages)
        await driver.wait(ids, timeout=300)
        killed = await killer if args.kill else {"killed": None}
        out["unlimited"] = summarize(exchanges(driver, ids)) | killed
        out["attempts_per_replica"] = attempts(stack)
        if args.kill:  # a Deployment would restart it; it rejoins the work
            await asyncio.to_thread(victim.start, 90.0)

        # 2. A per-partner rate limit across every replica.
        limited: list[str] = []
        if args.limited:
            await asyncio.to_thread(
                stack.update_partner, PARTNER, rate_limit_per_second=args.rate_limit
            )
            await asyncio.sleep(2)  # every replica follows the configuration through the bus
            limited = await publish(driver, args.limited)
            await driver.wait(limited, timeout=120 + args.limited / args.rate_limit)
            phase = exchanges(driver, limited)
            out["limited"] = summarize(phase)
            message_ids = {e.message_id for e in phase if e.message_id}
            stamps = send_times(await all_events(js), message_ids)
            out["rate_limit"] = rate_check(stamps, args.rate_limit)
            out["attempts_per_replica"] = attempts(stack)  # cumulative, the restarted one anew
        out["seconds"] = round(time.monotonic() - start, 1)
        await asyncio.sleep(3)  # room for a wrong second delivery to show up
        out["exactly_once"] = await exactly_once(js, set(ids) | set(limited))
    return out


async def kill_mid_send(driver: Driver, share: int, victim: Service) -> dict[str, Any]:
    """SIGKILL ``victim`` half-way through its share of the work (by its own attempts counter;
    the events of the deliveries lag behind), at a moment it is sending, so there is
    something to lose."""
    base, in_flight, sent = delivered(driver), 0.0, 0.0
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(base_url=victim.base_url, timeout=5) as http:
        while time.monotonic() < deadline:
            text = (await http.get("/metrics")).text
            in_flight, sent = metric(text, "in_flight"), metric(text, "attempts_total")
            if in_flight > 0 and sent >= share:
                break
            await asyncio.sleep(0.01)
    victim.kill()
    return {
        "killed": victim.name,
        "killed_after_deliveries": delivered(driver) - base,
        "killed_while_sending": int(in_flight),
        "victim_attempts_before_kill": int(sent),
    }


def metric(text: str, name: str) -> float:
    prefix = f"as2bus_outbound_{name}{{"
    return sum(float(x.rsplit(" ", 1)[1]) for x in text.splitlines() if x.startswith(prefix))


def attempts(stack: Stack) -> dict[str, int]:
    return {
        s.name: int(s.metric("as2bus_outbound_attempts_total")) for s in stack.named("outbound-svc")
    }


async def publish(driver: Driver, n: int) -> list[str]:
    gate = asyncio.Semaphore(32)

    async def one() -> str:
        async with gate:
            return await driver.send(1024)

    return list(await asyncio.gather(*(one() for _ in range(n))))


def exchanges(driver: Driver, ids: list[str]) -> list[Exchange]:
    return [driver.watch.exchanges[i] for i in ids]


def delivered(driver: Driver) -> int:
    return sum(1 for e in driver.watch.exchanges.values() if e.delivered)


def markdown(r: dict[str, Any]) -> str:
    u, once = r["unlimited"], r["exactly_once"]
    lines = [
        f"Stack: {r['stack']}. Load average at start {r['machine']['load_avg_start']}.",
        "",
        f"- {u['sent']} documents (1 KB), no rate limit: {u['delivered']} delivered in "
        f"{u['seconds']} s = {u['exchanges_per_s']} exchanges/s; "
        + (
            f"{u['killed']} SIGKILLed after {u['killed_after_deliveries']} deliveries while "
            f"sending {u['killed_while_sending']} (lease {LEASE_SECONDS} s), restarted after "
            "the phase."
            if u["killed"]
            else "no replica killed."
        ),
    ]
    lines.append(f"- Send attempts per outbound replica: {r['attempts_per_replica']}.")
    if rl := r.get("rate_limit"):
        lines.append(
            f"- Rate limit {rl['limit_per_s']}/s on the partner: {rl['sends']} sends over "
            f"{rl['span_s']} s = {rl['measured_per_s']}/s, {rl['after_burst_per_s']}/s after the "
            f"initial burst, across every outbound replica "
            f"(at most {rl['max_in_any_1s']} in any 1 s; the bucket allows "
            f"{rl['allowed_by_bucket']}): {'honoured' if rl['ok'] else 'EXCEEDED'}."
        )
    lines.append(
        f"- Exactly once: {once['received_distinct']} of {once['requests']} received, "
        f"{once['received_more_than_once']} more than once, {once['missing']} missing, "
        f"{once['wrong_document']} wrong documents, {once['failed_or_rejected']} failed; "
        f"{once['duplicates_refused_by_inbound']} resends (same Message-ID, after the kill) "
        f"refused by the receiver as duplicates, {once['posted_more_than_once']} with more than "
        "one MessageSent: "
        f"{'OK' if once['ok'] else 'FAILED'}."
    )
    lines += [f"  - {reason}" for reason in once.get("failure_reasons", [])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out", description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--limited", type=int, default=200, help="documents under the limit")
    parser.add_argument("--rate-limit", type=float, default=10.0, help="per second")
    parser.add_argument("--inbound", type=int, default=2)
    parser.add_argument("--outbound", type=int, default=3)
    parser.add_argument("--no-kill", dest="kill", action="store_false")
    parser.add_argument("--results", type=Path, default=Path("bench/results/scale-out"))
    parser.add_argument("--keep", action="store_true", help="keep the stack's logs and data")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    result: dict[str, Any] = {"machine": procfs.machine(), "args": vars(args) | {"results": ""}}
    env = {"AS2BUS_OUTBOUND_LEASE_SECONDS": str(LEASE_SECONDS)}
    with Stack(
        postgres=True, inbound=args.inbound, outbound=args.outbound, env=env, keep=args.keep
    ) as stack:
        result["stack"] = stack.describe()
        print(f"stack: {result['stack']} (logs: {stack.workdir})", flush=True)
        result |= asyncio.run(drive(stack, args))
        if not result["exactly_once"]["ok"]:
            stack.keep = True  # the services' logs say why
            print(f"not exactly once: the logs stay in {stack.workdir}", flush=True)
    result["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    ok = result["exactly_once"]["ok"] and result.get("rate_limit", {"ok": True})["ok"]
    result["ok"] = ok
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "scale-out.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.results / "scale-out.md").write_text(markdown(result))
    print(markdown(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
