"""Fuzzing the AS2 endpoint, the big run (``make fuzz``; marker ``fuzz``, not in ``make
test``): at least 100,000 cases (``FUZZ_CASES``) drawn from the strategies of the short run,
shared between the levels: the use case (messages in memory and from a file, compression
bombs with their memory measured, MDNs), the real app through ASGI, and uvicorn on a socket.

A failure does not stop the run: each is recorded (its recipe, the error, the request's
bytes in ``var/fuzz/failures.jsonl``) and counted by kind; the run prints the count, the
rate and every kind of failure, and fails at the end if there was any. ``FUZZ_SEED`` replays
a run (each batch of ``BATCH`` cases is seeded from it); without it the seed is random and
printed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import multiprocessing
import os
import random
import re
import resource
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from . import harness, oracle
from .grammar import Mdn, Message, Request, build, build_mdn, with_header_ops
from .harness import HeaderOps, HttpCase, MessageCase, Server, WireCase
from .oracle import Outcome
from .strategies import bombs, http_cases, mdn_cases, message_cases, wire_cases

BATCH = 1000
ROOT = Path(__file__).resolve().parents[4]


@dataclass
class Failure:
    kind: str
    count: int
    first: str  # the recipe
    error: str
    where: str


@dataclass
class Figures:
    """What the run found: cases and seconds per level, outcomes, failures by kind."""

    report: Path
    cases: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: dict[str, Failure] = field(default_factory=dict)
    peak: int = 0  # the highest tracemalloc peak measured, bytes
    rss: int = 0  # the process's largest resident set, bytes

    def record(
        self, level: str, recipe: object, request: Request | None, err: BaseException
    ) -> None:
        kind = _kind(err)
        frames = traceback.extract_tb(err.__traceback__)
        where = next(
            (f"{f.filename.rsplit('/', 3)[-1]}:{f.lineno}" for f in reversed(frames)
             if "/as2bus/" in f.filename and "/tests/" not in f.filename),
            f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?",
        )  # fmt: skip
        if kind in self.failures:
            self.failures[kind].count += 1
        else:
            self.failures[kind] = Failure(
                kind, 1, str(recipe), f"{type(err).__name__}: {err}"[:2000], where
            )
        with self.report.open("a") as out:
            row: dict[str, Any] = {
                "level": level,
                "kind": kind,
                "recipe": str(recipe),
                "error": str(err)[:4000],
            }
            if request is not None:
                row["headers"] = request.headers
                row["body"] = base64.b64encode(request.body).decode()
            out.write(json.dumps(row) + "\n")


def _kind(err: BaseException) -> str:
    """A failure's kind: its type and message with numbers, quoted values and ids blurred,
    so that one bug found a thousand times is one line."""
    text = str(err).split("\n")[0]
    text = re.sub(r"'[^']*'|\"[^\"]*\"|b'[^']*'", "'…'", text)
    text = re.sub(r"\d+", "#", text)
    return f"{type(err).__name__}: {text[:140]}"


def _batches(total: int, start: int) -> Iterator[tuple[int, int]]:
    """(seed, size) of each batch of a level's share."""
    done, n = 0, 0
    while done < total:
        size = min(BATCH, total - done)
        yield start + n, size
        done += size
        n += 1


Runs = Callable[[Any], tuple[Request | None, Outcome]]


def _run_level(
    figures: Figures,
    shard: int,
    level: str,
    total: int,
    base_seed: int,
    strategy: st.SearchStrategy[Any],
    one: Runs,
) -> None:
    for batch_seed, size in _batches(total, base_seed):

        @seed(batch_seed)
        @settings(
            max_examples=size,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def batch(case: Any) -> None:
            started = time.perf_counter()
            request = None
            try:
                request, outcome = one(case)
            except Exception as err:
                figures.record(level, _described(case), request, err)
            else:
                figures.outcomes[
                    f"{level}: {outcome.kind} {outcome.status} {outcome.reason}"[:90]
                ] += 1
                if outcome.peak:
                    figures.peak = max(figures.peak, outcome.peak)
            figures.cases[level] += 1
            figures.seconds[level] += time.perf_counter() - started

        began = time.perf_counter()
        batch()
        figures.rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        _progress(figures, shard, level, time.perf_counter() - began)


def _described(case: object) -> str:
    """A case's recipe in words (an MDN case is the MDN and its header changes)."""
    if isinstance(case, tuple):
        return " | ".join(str(part) for part in case if part != ())
    return str(case)


def _progress(figures: Figures, shard: int, level: str, batch_seconds: float) -> None:
    total = sum(figures.cases.values())
    print(
        f"[{time.strftime('%H:%M:%S')}] shard {shard} {level}: {figures.cases[level]} cases; "
        f"all levels {total}, failures {sum(f.count for f in figures.failures.values())} "
        f"(last batch {batch_seconds:.1f} s)",
        file=sys.stderr,
        flush=True,
    )


#: The levels' shares of the cases: the use case gets most (fast); the wire, whose cases
#: wait on the server's deadlines, the fewest.
SHARES = {
    "messages": 0.723, "bombs": 0.002, "mdns": 0.15, "http": 0.11, "wire": 0.015,
}  # fmt: skip


def _shard(index: int, total: int, base_seed: int, report: Path, tmp: Path) -> Figures:
    """One process's share of the run: every level, ``total`` cases in all."""
    figures = Figures(report)
    report.write_text("")
    app = harness.fuzz_app(tmp)
    # Each refusal logs a warning: a hundred thousand of them would only slow the run (and
    # pytest would keep them all). Errors still count: the wire level fails on them.
    logging.getLogger("as2bus").setLevel(logging.ERROR)
    oracle.VERIFY_OUR_MDNS = 0.1
    random.seed(base_seed)
    with asyncio.Runner() as loop, harness.served(app) as server:

        def message(case: MessageCase) -> tuple[Request, Outcome]:
            request = case.request()
            measure = random.random() < 0.01  # memory of one case in a hundred, and of bombs
            return request, loop.run(harness.message_case(case, request, measure=measure))

        def bomb(m: Message) -> tuple[Request, Outcome]:
            request = build(m)
            spooled = m.shape.base64  # half of them read from a file
            case = harness.message_case(
                m, request, spooled=spooled, measure=True, max_payload_bytes=harness.BOMB_PAYLOAD
            )
            outcome = loop.run(case)
            return request, outcome

        def mdn(case: tuple[Mdn, HeaderOps]) -> tuple[Request, Outcome]:
            request = with_header_ops(build_mdn(case[0]), case[1])
            return request, loop.run(harness.mdn_case(case[0], request, case[1]))

        def http(case: HttpCase) -> tuple[Request, Outcome]:
            request = case.request()
            return request, loop.run(harness.http_case(app, case, request))

        def wire(case: WireCase, on: Server = server) -> tuple[Request, Outcome]:
            what = case.what
            request = build(what) if isinstance(what, Message) else build_mdn(what)
            return request, harness.wire_case(on, case, request)

        levels: list[tuple[str, st.SearchStrategy[Any], Runs]] = [
            ("messages", message_cases, message),
            ("bombs", bombs, bomb),
            ("mdns", mdn_cases, mdn),
            ("http", http_cases, http),
            ("wire", wire_cases, wire),
        ]
        for offset, (name, strategy, one) in enumerate(levels):
            count = max(int(total * SHARES[name]), 5)
            level_seed = base_seed + offset * 1_000_003
            _run_level(figures, index, name, count, level_seed, strategy, one)
    return figures


@pytest.mark.fuzz
@pytest.mark.timeout(0)
def test_big_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """``FUZZ_CASES`` cases (100,000) in ``FUZZ_WORKERS`` processes (2: one per core of our
    2-core machines), each drawing its own share (its own seeds) of every level. Only when
    asked for by its marker (``make fuzz``: ``pytest -m fuzz``), not in a plain ``pytest``."""
    if "fuzz" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the big fuzz run (minutes): make fuzz, or pytest -m fuzz")
    total = int(os.environ.get("FUZZ_CASES", "100000"))
    workers = max(int(os.environ.get("FUZZ_WORKERS", "2")), 1)
    base_seed = int(os.environ.get("FUZZ_SEED", str(random.randrange(1 << 30))))
    report_dir = Path(os.environ.get("FUZZ_REPORT_DIR", str(ROOT / "var" / "fuzz")))
    report_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"fuzz: {total} cases in {workers} processes, FUZZ_SEED={base_seed}",
        file=sys.stderr,
        flush=True,
    )
    started = time.perf_counter()
    jobs = [
        (
            i,
            total // workers + (1 if i < total % workers else 0),
            base_seed + i * 7_919_000,
            report_dir / f"failures-{i}.jsonl",
            tmp_path_factory.mktemp(f"fuzz-{i}"),
        )
        for i in range(workers)
    ]
    # fork: the test module is imported by path (pytest's importlib mode), which a spawned
    # process could not import again; nothing runs yet (no thread, no loop) when it forks.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        shards = pool.starmap(_shard, jobs)
    elapsed = time.perf_counter() - started
    figures = _merged(shards, report_dir / "failures.jsonl")
    _summary(figures, elapsed, base_seed, workers)
    assert not figures.failures, f"{len(figures.failures)} kinds of failure: see above"


def _merged(shards: list[Figures], report: Path) -> Figures:
    merged = Figures(report)
    with report.open("w") as out:
        for shard in shards:
            out.write(shard.report.read_text())
            shard.report.unlink()
            merged.cases.update(shard.cases)
            for level, seconds in shard.seconds.items():
                merged.seconds[level] += seconds
            merged.outcomes.update(shard.outcomes)
            merged.peak = max(merged.peak, shard.peak)
            merged.rss = max(merged.rss, shard.rss)
            for kind, failure in shard.failures.items():
                if kind in merged.failures:
                    merged.failures[kind].count += failure.count
                else:
                    merged.failures[kind] = failure
    return merged


def _summary(figures: Figures, elapsed: float, base_seed: int, workers: int) -> None:
    count = sum(figures.cases.values())
    lines = [
        "",
        f"fuzz: {count} cases in {elapsed:.0f} s in {workers} processes: "
        f"{count / elapsed:.1f} cases/s (FUZZ_SEED={base_seed})",
    ]
    for level, n in figures.cases.items():
        rate = n / figures.seconds[level] if figures.seconds[level] else 0
        lines.append(f"  {level:<17} {n:>7} cases, {rate:7.1f} cases/s per process")
    peak, rss = figures.peak / 2**20, figures.rss / 2**20
    lines.append(f"  memory: highest peak of a case {peak:.1f} MiB; largest process {rss:.0f} MiB")
    lines.append("outcomes:")
    lines += [f"  {n:>7}  {kind}" for kind, n in figures.outcomes.most_common()]
    found = sum(f.count for f in figures.failures.values())
    lines.append(f"failures: {found} in {len(figures.failures)} kinds")
    for failure in figures.failures.values():
        lines += [
            f"  {failure.count:>7}  {failure.kind}",
            f"           at {failure.where}",
            f"           first: {failure.first[:600]}",
            f"           error: {failure.error[:600]}",
        ]
    if figures.failures:
        lines.append(f"every failing case (recipe, error, request bytes): {figures.report}")
    print("\n".join(lines), flush=True)
