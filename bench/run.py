"""``make bench`` / ``python -m bench.run``: end-to-end throughput, latency and memory of the
real local stack, next to reference figures measured in the same run (issue 8).

Every figure is printed with the reference it is compared against; nothing here asserts a
timing. A failed exchange is reported (and makes the exit code 1), never hidden.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procfs, references, report
from bench.driver import Driver, summarize
from bench.stack import Stack, stop_on_sigterm

KB, MB = 1024, 1024 * 1024


@dataclass(frozen=True)
class Plan:
    bursts: dict[int, int]  # document size -> exchanges sent at once
    steady_seconds: float  # how long the fixed offered load (half the maximum) lasts
    large: list[int]  # sizes sent alone, for seconds, MB/s and peak RSS
    reference_seconds: float
    reference_sizes: list[int]


FULL = Plan({KB: 300, 100 * KB: 200, 10 * MB: 20}, 20, [100 * MB], 2.0, [KB, 100 * KB, 10 * MB])
QUICK = Plan({KB: 40, 100 * KB: 10, 10 * MB: 2}, 3, [20 * MB], 0.3, [KB, 100 * KB])


def processes(stack: Stack) -> dict[str, int]:
    """The pid of each service, of nats-server, and of this process (the load generator: it
    publishes the requests and reads the outcomes)."""
    assert stack.nats is not None
    pids = {s.name: s.pid for s in stack.services}
    return pids | {"nats-server": stack.nats.pid, "load generator": os.getpid()}


def cpu_now(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each of ``processes`` and by PostgreSQL, if any."""
    used = {name: procfs.cpu_seconds(pid) for name, pid in processes(stack).items()}
    if stack.pg is not None:  # the postmaster and its backends
        used["postgres"] = procfs.cpu_seconds(stack.pg.proc.pid, with_children=True)
    return used


def cpu_per_exchange(
    stack: Stack, before: dict[str, float], ticks: tuple[int, int], delivered: int
) -> dict[str, Any]:
    """Milliseconds of CPU per delivered exchange, each process and the services together,
    since ``before``; and how busy the whole machine was meanwhile."""
    after, (busy, total) = cpu_now(stack), procfs.machine_ticks()
    per = {
        name: round(1000 * (after[name] - used) / max(delivered, 1), 2)
        for name, used in before.items()
    }
    services = {s.name for s in stack.services}
    per["services"] = round(sum(v for k, v in per.items() if k in services), 2)
    per["machine_busy"] = round((busy - ticks[0]) / max(total - ticks[1], 1), 3)
    return per


def work_now(stack: Stack) -> dict[str, tuple[int, int]]:
    """Context switches and minor page faults so far of each of ``processes``."""
    return {name: procfs.switches_and_faults(pid) for name, pid in processes(stack).items()}


def work_per_exchange(
    stack: Stack, before: dict[str, tuple[int, int]], delivered: int
) -> dict[str, list[float]]:
    """[context switches, minor page faults] per delivered exchange since ``before``."""
    after = work_now(stack)
    return {
        name: [round((after[name][i] - counts[i]) / max(delivered, 1), 1) for i in (0, 1)]
        for name, counts in before.items()
    }


async def exchanges(stack: Stack, plan: Plan) -> list[dict[str, Any]]:
    rows = []
    async with Driver(stack.nats_url) as driver:
        await driver.warm_up()
        for size, count in plan.bursts.items():
            for mdn in ("sync", "async"):
                timeout = 120 + count * size / MB
                before, ticks = cpu_now(stack), procfs.machine_ticks()
                counted = work_now(stack)
                top = summarize(await driver.burst(count, size, mdn, timeout))
                top["cpu_ms"] = cpu_per_exchange(stack, before, ticks, top["delivered"])
                top["switches_faults"] = work_per_exchange(stack, counted, top["delivered"])
                rate = max(0.2, top["exchanges_per_s"] / 2)
                before, ticks = cpu_now(stack), procfs.machine_ticks()
                steady = summarize(
                    await driver.steady(rate, plan.steady_seconds, size, mdn, timeout)
                )
                # Exchanges spread out share less (a relay pass, a claim, a transaction):
                # the CPU each one costs at half load, beside the burst's.
                steady["cpu_ms"] = cpu_per_exchange(stack, before, ticks, steady["delivered"])
                steady["offered_per_s"] = round(rate, 2)
                row = {"size": size, "mdn": mdn, "max": top, "half_load": steady}
                print(report.exchange_line(row), flush=True)
                print(report.cpu_line(row), flush=True)
                rows.append(row)
    return rows


async def large(stack: Stack, sizes: list[int], base64_sizes: list[int]) -> list[dict[str, Any]]:
    """One document at a time, each size twice: the first after smaller ones, then ``again``,
    as in a steady flow of large documents (the services' temporary files, kept from the
    first, are written over: see as2bus.shared.recycled_files); then the ``base64_sizes``
    twice with a base64 body (the issue's second figure for large documents). Each process's
    peak RSS is reset first so it is this document's."""
    rows = []
    runs = [("binary", size) for size in sizes] + [("base64", size) for size in base64_sizes]
    async with Driver(stack.nats_url) as driver:
        for (encoding, size), again in itertools.product(runs, (False, True)):
            before = {s.name: procfs.memory(s.pid) for s in stack.services}
            reset = all([procfs.reset_peak(s.pid) for s in stack.services])
            assert stack.nats is not None
            procfs.reset_peak(stack.nats.pid)
            pids = {s.name: s.pid for s in stack.services} | {"nats-server": stack.nats.pid}
            cpu_before = {name: procfs.user_and_system_seconds(pid) for name, pid in pids.items()}
            timeout = 600 + 10 * size / MB
            result = summarize(await driver.burst(1, size, "sync", timeout, encoding))
            cpu = {
                name: [
                    round(after - first, 2)
                    for after, first in zip(
                        procfs.user_and_system_seconds(pid), cpu_before[name], strict=True
                    )
                ]
                for name, pid in pids.items()
            }
            services = {}
            for s in stack.services:
                peak = procfs.memory(s.pid).get("VmHWM", 0)
                base = before[s.name].get("VmRSS", 0)
                services[s.name] = {
                    "rss_before_mb": round(base / MB),
                    "peak_rss_mb": round(peak / MB),
                    "peak_over_size": round(peak / size, 2),
                    "growth_over_size": round((peak - base) / size, 2),
                }
            nats_peak = procfs.memory(stack.nats.pid).get("VmHWM", 0)
            row = {
                "size": size,
                "encoding": encoding,
                "again": again,
                "cpu_user_system_s": cpu,
                "result": result,
                "mb_per_s": round(size / MB / result["seconds"], 1) if result["delivered"] else 0,
                "peak_reset": reset,
                "services": services,
                "nats_peak_rss_mb": round(nats_peak / MB),
            }
            print(report.large_line(row), flush=True)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run, under 2 minutes")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument(
        "--huge", action="store_true", help="also a 1 GB document (about a minute, ~5 GB of disk)"
    )
    parser.add_argument("--results", type=Path, default=Path("bench/results"))
    parser.add_argument("--keep", action="store_true", help="keep the stack's logs and data")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    plan = QUICK if args.quick else FULL
    large_sizes = plan.large + ([1024 * MB] if args.huge else [])
    started = time.monotonic()
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "machine": procfs.machine(),
    }
    print(f"machine: {results['machine']}", flush=True)
    results["references"] = references.measure(plan.reference_sizes, plan.reference_seconds)
    print(report.reference_lines(results["references"]), flush=True)
    with Stack(postgres=args.postgres, keep=args.keep) as stack:
        results["stack"] = stack.describe()
        print(f"stack: {results['stack']} (logs: {stack.workdir})", flush=True)
        results["cpu_processes"] = [s.name for s in stack.services] + ["nats-server"]
        results["exchanges"] = asyncio.run(exchanges(stack, plan))
        results["large"] = asyncio.run(large(stack, large_sizes, plan.large))
    results["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.monotonic() - started, 1)
    report.add_ratios(results)
    out = args.results / ("quick" if args.quick else "postgres" if args.postgres else "sqlite")
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "bench.md").write_text(report.markdown(results))
    report.chart(results, out / "throughput.png")
    print(report.markdown(results))
    print(f"written: {out}/bench.json, bench.md, throughput.png ({results['seconds']} s)")
    failed = [r for r in results["exchanges"] if r["max"]["failures"] or r["half_load"]["failures"]]
    failed += [r for r in results["large"] if r["result"]["failures"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
