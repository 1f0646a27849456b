"""The fault-injection table of docs/reliability.md, regenerated from ``chaos/results/*.json``
between its markers (the rest of the page belongs to other sections and is left alone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HEADING = "## Fault injection"
START, END = "<!-- chaos:start -->", "<!-- chaos:end -->"
INTRO = """\
`make chaos` (`python -m chaos.run`, the package `chaos/`) runs the real stack, one scenario per
run: nats-server, every service as its own process, SQLite or PostgreSQL, the loopback
partnership DEMO-A → DEMO-B (our own inbound-svc is the partner). A steady load of send
requests goes through it; one process is SIGKILLed in the middle and started again by the
harness's supervisor (as `as2bus up` and Kubernetes restart a dead process). Then, for every
request, from the bus (the whole AS2_EVENTS stream), the receiving side (each MessageReceived
and the document stored for it) and tracklog-svc's API: **once** (delivered exactly once),
**twice** (the partner got it more than once), **lost** (the partner never got it, yet nothing
said it failed, or not even queued), **stuck** (queued, no final outcome within 150 s of the
last request), **failed** (MessageFailed or MessageRejected: the sender is told, but the
partner here is healthy),
**settled** (seconds from the kill to the last request's outcome / from the last request's
publish to it; the load is 5 requests/s for 24 s, the kill 8 s in), **tracklog** (its rows
agree with the bus within a minute of settling; a row missing or wrong fails the scenario).
The goal: 0 lost, 0 twice, 0 stuck, 0 failed. The outbound lease is 10 s
(`AS2BUS_OUTBOUND_LEASE_SECONDS`): a message a killed replica had claimed is taken over after
it. The short form, in `make test`: `chaos/tests/test_chaos.py` (outbound-svc killed mid-send
on SQLite, a small load). Details of each run: `chaos/results/<scenario>.json`. The figures
below come from a 2-core VM shared with other test runs (load average 2 to 19 meanwhile): the
settle times follow the load (outbound-svc on SQLite settled 14.7 s after the last request at a
load of 12, 0.1 s at 4), the counts do not.
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
        cells = [
            r["what"], r["database"], str(r["requested"]), str(r["delivered_once"]),
            _bold(r["delivered_twice"]), _bold(r["lost"]), _bold(r["stuck"]), _bold(r["failed"]),
            NONE if settled is None else f"{settled:g} / {_tail(r):g}", agrees,
            "pass" if r["ok"] else "**FAIL**",
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


def update_docs(page: Path, results: Path, order: list[str]) -> None:
    """Replace what is between the markers; add the section (at the end) if it is not there."""
    text = page.read_text() if page.exists() else "# Reliability\n"
    block = f"{START}\n{table(results, order)}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{INTRO}\n{block}\n"
    page.write_text(text)
