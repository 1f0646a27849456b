"""The short form of ``make chaos``, in ``make test``: outbound-svc SIGKILLed while it is
sending, on SQLite, under a small load; nothing lost, nothing delivered twice, nothing stuck,
and tracklog-svc agrees. The harness runs as ``make chaos`` runs it, in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_outbound_killed_mid_send_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "chaos.run", "--only", "outbound-sqlite", "--quick"]
    argv += ["--no-docs", "--results", str(tmp_path)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    report = done.stdout[-6000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "outbound-sqlite.json").read_text())
    assert "error" not in result, report
    assert result["fault"]["in_flight_at_kill"] > 0, report  # it was killed while sending
    assert result["requested"] == result["delivered_once"] > 0, report
    counts = {k: result[k] for k in ("delivered_twice", "lost", "stuck", "failed")}
    assert counts == {"delivered_twice": 0, "lost": 0, "stuck": 0, "failed": 0}, report
    assert result["wrong_document"] == 0, report
    assert result["tracklog"]["ok"], report
    assert done.returncode == 0, report
