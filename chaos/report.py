"""The fault-injection table of docs/reliability.md, regenerated from ``chaos/results/*.json``
between its markers (the rest of the page belongs to other sections and is left alone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HEADING = "## Fault injection"
START, END = "<!-- chaos:start -->", "<!-- chaos:end -->"
SLOW_START, SLOW_END = "<!-- chaos-slow-clients:start -->", "<!-- chaos-slow-clients:end -->"
INTRO = """\
`make chaos` (`python -m chaos.run`, the package `chaos/`) runs the real stack, one scenario per
run: nats-server, every service as its own process, SQLite or PostgreSQL, the loopback
partnership DEMO-A → DEMO-B (our own inbound-svc is the partner). A steady load of send requests
goes through it: 5 requests/s for at least 16 s, the fault 6 s in, and on until 5 s after the
fault ended (the process back and ready, the pause over), so requests keep coming through the
whole fault and after it (rows run before this rule: 24 s, the fault 8 s in; each result's
`load` says). The fault: one process SIGKILLed and started again by the harness's supervisor (as
`as2bus up` and Kubernetes restart a dead process); or, in the last rows, the partner stopped
(SIGTERM) for two minutes, the network between outbound-svc and the partner paused for 30 s
(`chaos/proxy.py`: a TCP proxy that moves no byte either way, its connections left open), the
partner's async MDNs sent to a sink that answers 200 and keeps nothing. Each of these sets the
sending policy that its fault calls for (outbound-svc's environment, named in its row). Then,
for every request, from the bus (the whole AS2_EVENTS stream), the receiving side (each
MessageReceived and the document stored for it) and tracklog-svc's API: **once** (delivered
exactly once), **twice** (the partner got it more than once), **lost** (the partner never got
it, yet nothing said it failed, or not even queued), **stuck** (queued, no final outcome within
90 s of the last request and the fault's end; 150 s in rows run before this rule), **failed**
(MessageFailed or MessageRejected: the sender is told, but the partner here is healthy; a
scenario whose fault makes a failure the right outcome declares the code it expects, and a
request that ends so, its message received by the partner exactly once, is counted apart: "+ N
as expected (`code`)"; any other failure still fails the scenario), **settled** (seconds from
the fault's start to the last request's outcome / from the last request's publish to it; for a
stop or a pause, also from the fault's end), **tracklog** (its rows agree with the bus within a
minute of settling, polled; a row missing or wrong fails the scenario). The goal: 0 lost, 0
twice, 0 stuck, 0 failed (other than as declared). The outbound lease is 10 s
(`AS2BUS_OUTBOUND_LEASE_SECONDS`): a message a killed replica had claimed is taken over after
it. The short form, in `make test`: `chaos/tests/test_chaos.py` (outbound-svc killed mid-send on
SQLite, a small load); the scenarios' own logic (fates, the proxy, the sink, the tables) in
`chaos/tests/`. Details of each run: `chaos/results/<scenario>.json`, with `timing` (stack
start, warm-up, load and fault, settle, count, tracklog check, stop). The figures below come
from a 2-core VM shared with other test runs (load average 2 to 19 meanwhile): the settle times
follow the load (outbound-svc on SQLite settled 14.7 s after the last request at a load of 12,
0.1 s at 4), the counts do not.
"""
NONE = "\N{EN DASH}"
COLUMNS = ("scenario", "database", "requested", "once", "twice", "lost", "stuck", "failed",
           "settled (s)", "tracklog", "result")  # fmt: skip


def row(r: dict[str, Any]) -> str:
    if "error" in r:
        cells = [r["what"], r["database"], *[NONE] * 8, f"**error**: {r['error']}"]
    else:
        tracklog = r["tracklog"]
        agrees = (
            "agrees"
            if tracklog.get("ok")
            else (f"**disagrees** ({tracklog.get('error') or _disagreement(tracklog)})")
        )
        settled = r["settled_after_kill_s"]
        failed = _bold(r["failed"])
        if expected := r.get("failed_as_expected"):
            failed += f" + {expected} as expected (`{r['expected_failure']}`)"
        when = NONE if settled is None else f"{settled:g} / {_tail(r):g}"
        if settled is not None and r["fault"].get("how") in ("stop", "pause"):
            when += f" ({r['settled_after_fault_ended_s']:g} after the fault ended)"
        verdict = "pass" if r["ok"] else "**FAIL**"
        if r["ok"] and r.get("expected_failure"):
            verdict += f" (expected: every request failed `{r['expected_failure']}`)"
        cells = [
            r["what"], r["database"], str(r["requested"]), str(r["delivered_once"]),
            _bold(r["delivered_twice"]), _bold(r["lost"]), _bold(r["stuck"]), failed,
            when, agrees, verdict,
        ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def _tail(r: dict[str, Any]) -> float:
    """Seconds from the last request's publish to the last outcome (older results: from the
    kill's time into the load, as the requests were published at a fixed rate)."""
    if (tail := r.get("settled_after_last_request_s")) is not None:
        return float(tail)
    load, killed_at = r["load"], float(r["fault"]["killed_at_s"])
    last = float(load["seconds"]) - 1 / float(load["rate"])
    return round(float(r["settled_after_kill_s"]) + killed_at - last, 1)


def _bold(n: int) -> str:
    return f"**{n}**" if n else "0"


def _disagreement(t: dict[str, Any]) -> str:
    return (
        f"{t.get('outbound_rows_missing')} outbound rows missing, "
        f"{t.get('outbound_rows_wrong')} wrong, {t.get('inbound_rows_missing')} inbound missing"
    )


def table(results: Path, order: list[str]) -> str:
    found = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += [row(found[key]) for key in order if key in found]
    return "\n".join(lines)


def slow_clients_table(r: dict[str, Any]) -> str:
    """The slow-client measurement: the normal partner's latency, then each kind's fate."""
    if "error" in r:
        return f"Slow clients: **error**: {r['error']}"
    s = r["settings"]
    quiet, loaded = r["without_load"], r["with_slow_clients"]
    head = ("| normal partner, exchange latency | exchanges | p50 (ms) | p95 (ms) | max (ms) "
            "| failed |")  # fmt: skip
    lines = [
        f"Slow clients ({s['slow_clients']} at once, a third of each kind, each reconnecting "
        f"once cut off; header timeout {s['header_timeout_s']:g} s, body timeout "
        f"{s['body_timeout_s']:g} s, margin {s['margin_s']:g} s; "
        f"{r['slow_connections']} slow connections in {r['slow_load_seconds']:g} s; "
        f"{s['exchanges']} normal exchanges each time, one at a time, "
        f"{s.get('spacing_s', 0):g} s apart at least): "
        f"**{'pass' if r['ok'] else 'FAIL'}**",
        "",
        head,
        "|---|---|---|---|---|---|",
    ]
    for name, m in (("without load", quiet), ("with the slow clients", loaded)):
        cells = [name, m.get("n", 0), m.get("p50_ms", NONE), m.get("p95_ms", NONE),
                 m.get("max_ms", NONE), _bold(m["failed"])]  # fmt: skip
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines += ["", "| slow client | allowed (s) | connections ended | how | ended after (s) "
              "| late |", "|---|---|---|---|---|---|"]  # fmt: skip
    for kind, k in r["slow_clients"].items():
        how = ", ".join(f"{h}: {n}" for h, n in sorted(k["how"].items()))
        span = k["ended_after_s"]
        cells = [kind, k["allowed_s"], k["connections_ended"], how,
                 f"{span['min']:g} to {span['max']:g}", _bold(k["late"])]  # fmt: skip
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def _between(text: str, start: str, end: str, block: str, after: str) -> str:
    """``text`` with what is between ``start`` and ``end`` replaced by ``block`` (the markers
    added just after ``after`` when they are not there)."""
    block = f"{start}\n{block}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        return head + block + rest.split(end, 1)[1]
    head, rest = text.split(after, 1)
    return head + after + "\n\n" + block + rest


def update_docs(page: Path, results: Path, order: list[str]) -> None:
    """Replace what is between the markers; add the section (at the end) if it is not there."""
    text = page.read_text() if page.exists() else "# Reliability\n"
    block = f"{START}\n{table(results, order)}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{INTRO}\n{block}\n"
    if (slow := results / "slow-clients.json").exists():
        text = _between(
            text, SLOW_START, SLOW_END, slow_clients_table(json.loads(slow.read_text())), END
        )
    page.write_text(text)
