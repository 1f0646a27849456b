"""Throughput against replicas (issue 23): the same 1 KB burst through stacks of more and more
inbound-svc and outbound-svc replicas, on PostgreSQL, one stack after the other in one run.

Every stack has the round-robin proxy in front of its inbound replicas, one replica or several,
so each point pays for the same path. Each point prints its exchanges per second, the CPU per
exchange of the services and of PostgreSQL, and how busy the machine was: throughput can only
grow with replicas while there are idle cores left, and where it stops growing the CPU per
exchange says what the extra replicas cost.

    python -m bench.scale_curve                      # 1x1, 1x2, 2x2, 2x3 (inbound x outbound)
    python -m bench.scale_curve --points 1x1,2x3 --messages 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bench import procfs
from bench.driver import Driver, summarize
from bench.run import cpu_now, cpu_per_exchange
from bench.stack import Stack, stop_on_sigterm

KB = 1024


def point(text: str) -> tuple[int, int]:
    """``2x3``: 2 inbound-svc and 3 outbound-svc replicas."""
    try:
        inbound, outbound = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not INBOUNDxOUTBOUND, e.g. 2x3") from None
    if inbound < 1 or outbound < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least one replica of each")
    return inbound, outbound


async def measure(stack: Stack, messages: int, rounds: int) -> list[dict[str, Any]]:
    """A warm-up burst, then ``rounds`` bursts of ``messages`` 1 KB sync exchanges."""
    async with Driver(stack.nats_url) as driver:
        await driver.warm_up()
        await driver.burst(min(messages, 50), KB, "sync", 120)  # connections and caches made
        bursts = []
        for _ in range(rounds):
            before, ticks = cpu_now(stack), procfs.machine_ticks()
            burst = summarize(await driver.burst(messages, KB, "sync", 120 + messages))
            burst["cpu_ms"] = cpu_per_exchange(stack, before, ticks, burst["delivered"])
            bursts.append(burst)
    return bursts


def line(inbound: int, outbound: int, burst: dict[str, Any]) -> str:
    cpu = burst["cpu_ms"]
    return (
        f"| {inbound} + {outbound} | {burst['exchanges_per_s']} | {cpu['services']} | "
        f"{cpu.get('postgres', 0.0)} | {cpu['nats-server']} | {cpu['load generator']} | "
        f"{round(100 * cpu['machine_busy'])} % | {burst['delivered']} of {burst['sent']} |"
    )


HEADER = [
    "| inbound + outbound replicas | exchanges/s | services CPU ms per exchange | PostgreSQL | "
    "nats-server | load generator (and proxy) | machine busy | delivered |",
    "|---|---|---|---|---|---|---|---|",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_curve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--points",
        type=lambda text: [point(p) for p in text.split(",")],
        default=[(1, 1), (1, 2), (2, 2), (2, 3)],
        help="INBOUNDxOUTBOUND replica counts, comma-separated (default 1x1,1x2,2x2,2x3)",
    )
    parser.add_argument("--messages", type=int, default=400, help="1 KB exchanges per burst")
    parser.add_argument("--rounds", type=int, default=2, help="bursts per point")
    parser.add_argument("--results", type=Path, default=Path("bench/results/scale-curve"))
    args = parser.parse_args(argv)
    stop_on_sigterm()
    result: dict[str, Any] = {"machine": procfs.machine(), "points": []}
    print("\n".join(HEADER), flush=True)
    ok = True
    for inbound, outbound in args.points:
        with Stack(postgres=True, inbound=inbound, outbound=outbound, proxy=True) as stack:
            bursts = asyncio.run(measure(stack, args.messages, args.rounds))
        for burst in bursts:
            print(line(inbound, outbound, burst), flush=True)
            ok &= burst["delivered"] == burst["sent"]
        result["points"].append({"inbound": inbound, "outbound": outbound, "bursts": bursts})
    result["ok"] = ok
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "scale-curve.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [line(p["inbound"], p["outbound"], b) for p in result["points"] for b in p["bursts"]]
    (args.results / "scale-curve.md").write_text("\n".join([*HEADER, *rows]) + "\n")
    if not ok:
        print("not every exchange was delivered: see the table", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
