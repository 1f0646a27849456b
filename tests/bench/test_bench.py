"""The benchmarks cannot rot: ``make bench`` first runs the quick bench, a small scale-out and
a two-point scale curve once (marker ``bench``; ``make test`` leaves them out: about 2 minutes
of its 15-minute budget).

Each runs as a subprocess, exactly as ``make bench`` does. They assert correctness (every
exchange delivered, exactly once, within the rate limit), never a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.bench


def run(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.timeout(400)
def test_quick_bench_delivers_every_exchange_and_writes_its_reports(tmp_path: Path) -> None:
    done = run("bench.run", "--quick", "--results", str(tmp_path), timeout=380)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = tmp_path / "quick"
    results = json.loads((out / "bench.json").read_text())
    assert {(r["size"], r["mdn"]) for r in results["exchanges"]} == {
        (size, mdn) for size in (1024, 100 * 1024, 10 << 20) for mdn in ("sync", "async")
    }
    on_the_path = [n for n in results["cpu_processes"] if n.startswith(("in", "out", "track"))]
    assert len(on_the_path) >= 3, results["cpu_processes"]
    for row in results["exchanges"]:
        for phase in (row["max"], row["half_load"]):
            assert phase["delivered"] == phase["sent"] > 0, row
        # Every process was measured in every burst; config-svc and cert-svc may not have
        # worked (their answers are cached).
        cpu = row["max"]["cpu_ms"]
        assert set(results["cpu_processes"]) <= set(cpu), cpu
        assert cpu["services"] > 0, cpu
        assert 0 < cpu["machine_busy"] <= 1, cpu
    # Every process on an exchange's path did some work over the bursts. Not in each one: the
    # kernel counts CPU in 10 ms ticks, and tracklog-svc's share of two 10 MB exchanges (about
    # 3 ms) may round to none.
    for name in on_the_path:
        assert sum(row["max"]["cpu_ms"][name] for row in results["exchanges"]) > 0, name
    # The CPU per exchange at half load too, beside the burst's.
    assert all(row["half_load"]["cpu_ms"]["services"] > 0 for row in results["exchanges"])
    assert all(r["result"]["delivered"] == 1 for r in results["large"])
    # Each large size twice (first, then again), binary then base64, with each process's CPU
    # split in two.
    assert [(r["encoding"], r["again"]) for r in results["large"]] == [
        ("binary", False), ("binary", True), ("base64", False), ("base64", True)
    ]  # fmt: skip
    assert "| 20 MB base64 again |" in (out / "bench.md").read_text()
    for row in results["large"]:
        user, system = row["cpu_user_system_s"]["inbound-svc-0"]
        assert user + system > 0, row
    # pyas2lib's CPU per 1 KB exchange back to back and spread out, in the same run.
    plain = results["references"]["pyas2lib"]["1024"]
    assert plain["cpu_ms_back_to_back"] > 0, plain
    assert plain["cpu_ms_spaced"] > 0, plain
    assert "idle before each" in (out / "bench.md").read_text()
    assert (out / "throughput.png").stat().st_size > 0
    assert "| 1 KB | sync |" in (out / "bench.md").read_text()
    assert "CPU ms per exchange during the burst" in (out / "bench.md").read_text()


@pytest.mark.timeout(400)
def test_scale_out_delivers_exactly_once_across_replicas_and_a_kill(tmp_path: Path) -> None:
    args = ["--messages", "100", "--limited", "40", "--rate-limit", "5"]
    args += ["--inbound", "2", "--outbound", "2", "--results", str(tmp_path)]
    done = run("bench.scale_out", *args, timeout=380)
    report = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    result = json.loads((tmp_path / "scale-out.json").read_text())
    once = result["exactly_once"]
    assert once["ok"], once
    assert once["received_distinct"] == once["requests"] == 140
    assert once["received_more_than_once"] == once["missing"] == once["wrong_document"] == 0
    assert result["unlimited"]["killed"] == "outbound-svc-0", report
    assert result["rate_limit"]["ok"], result["rate_limit"]


@pytest.mark.timeout(300)
def test_the_scale_curve_measures_each_stack_it_starts(tmp_path: Path) -> None:
    args = ["--points", "1x1,2x2", "--messages", "20", "--rounds", "1", "--results", str(tmp_path)]
    done = run("bench.scale_curve", *args, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "scale-curve.json").read_text())
    assert [(p["inbound"], p["outbound"]) for p in result["points"]] == [(1, 1), (2, 2)]
    for p in result["points"]:
        (burst,) = p["bursts"]
        assert burst["delivered"] == burst["sent"] == 20, burst
        replicas = [n for n in burst["cpu_ms"] if n.startswith(("inbound", "outbound"))]
        assert len(replicas) == p["inbound"] + p["outbound"], burst["cpu_ms"]
        assert burst["cpu_ms"]["services"] > 0
        assert burst["cpu_ms"]["postgres"] > 0  # the stacks are on PostgreSQL
    assert "| 2 + 2 |" in (tmp_path / "scale-curve.md").read_text()


def test_the_codec_benchmark_runs_and_checks_what_it_builds() -> None:
    """``bench.codec --quick``: every exchange and large document is checked byte for byte (a
    mismatch exits 1); the figures are printed with their references."""
    done = run("bench.codec", "--quick", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "pyas2lib" in done.stdout
    assert "AES-256-CBC encrypt" in done.stdout
    assert done.stdout.count("| binary |") == 2
    assert done.stdout.count("| base64 |") == 2
    assert "build MB/s, one reading" in done.stdout  # the plan made ahead, checked the same
