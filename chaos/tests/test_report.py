"""The fault-injection table of docs/reliability.md: regenerated between its markers, the rest
of the page (other engineers' sections) left as it was."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.report import END, HEADING, START, update_docs

RESULT = {
    "scenario": "nats-sqlite", "what": "nats-server SIGKILLed", "database": "SQLite",
    "requested": 10, "delivered_once": 9, "delivered_twice": 0, "lost": 1, "stuck": 0,
    "failed": 0, "settled_after_kill_s": None, "fault": {"killed_at_s": 2.0},
    "load": {"seconds": 8, "rate": 4}, "tracklog": {"ok": True}, "ok": False,
}  # fmt: skip


def test_the_table_is_added_once_then_replaced_between_its_markers(tmp_path: Path) -> None:
    results, page = tmp_path / "results", tmp_path / "reliability.md"
    results.mkdir()
    (results / "nats-sqlite.json").write_text(json.dumps(RESULT))
    page.write_text("# Reliability\n\n## Misbehaving partners\n\nTheirs.\n")

    update_docs(page, results, ["nats-sqlite"])
    first = page.read_text()
    assert first.startswith("# Reliability\n\n## Misbehaving partners\n\nTheirs.\n")
    assert first.count(HEADING) == 1
    assert "| nats-server SIGKILLed | SQLite | 10 | 9 | 0 | **1** | 0 | 0 |" in first
    assert "**FAIL**" in first

    page.write_text(first + "\n## Someone else's section\n\nKept.\n")
    (results / "nats-sqlite.json").write_text(json.dumps(RESULT | {"lost": 0, "ok": True}))
    update_docs(page, results, ["nats-sqlite"])
    second = page.read_text()
    assert second.count(START) == second.count(END) == second.count(HEADING) == 1
    assert "| 9 | 0 | 0 | 0 | 0 |" in second
    assert "**FAIL**" not in second
    assert second.endswith("## Someone else's section\n\nKept.\n")
