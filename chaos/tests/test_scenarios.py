"""The logic of the scenarios beyond the kills, without the stack: a request's fate with an
expected failure, the network pieces (a proxy that pauses, a sink that swallows MDNs), the
rows and the slow-client table they make in docs/reliability.md."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest

from chaos.proxy import MdnSink, PausableProxy
from chaos.report import END, SLOW_END, SLOW_START, row, update_docs
from chaos.scenarios import BY_KEY, MDN_NEVER, PARTNER_DOWN, Load, _policy, fate_of


def test_a_request_fate_with_and_without_an_expected_failure() -> None:
    failed = ["MessageFailed"]
    assert fate_of(1, ["MessageDelivered"], {None}, True, None) == "once"
    assert fate_of(1, failed, {"mdn-deadline"}, True, None) == "failed"
    assert fate_of(1, failed, {"mdn-deadline"}, True, "mdn-deadline") == "failed_as_expected"
    # Anything else is not what the scenario expects: another code, never received, twice.
    assert fate_of(1, failed, {"attempts-exhausted"}, True, "mdn-deadline") == "failed"
    assert fate_of(0, failed, {"mdn-deadline"}, True, "mdn-deadline") == "failed"
    assert fate_of(2, failed, {"mdn-deadline"}, True, "mdn-deadline") == "twice"
    assert fate_of(1, [], set(), True, "mdn-deadline") == "stuck"
    assert fate_of(0, [], set(), False, None) == "lost"
    assert fate_of(0, ["MessageDelivered"], {None}, True, None) == "lost"


def test_the_load_goes_on_until_after_the_fault() -> None:
    load = Load(rate=5, seconds=16, fault_at=6, after_fault=5)
    assert not load.over(79, due=100.0, fault_ended=10.0)  # not 16 s of requests yet
    assert not load.over(80, due=100.0, fault_ended=None)  # the fault is not over
    assert not load.over(80, due=14.9, fault_ended=10.0)  # not 5 s after it yet
    assert load.over(80, due=15.1, fault_ended=10.0)


def test_the_scenarios_say_their_policy_and_outlast_their_fault() -> None:
    assert _policy(PARTNER_DOWN) == "backoff 5 s, doubling up to 30 s, 12 attempts"
    down = BY_KEY["partner-down-sqlite"]
    base, cap, attempts = (float(v) for _, v in PARTNER_DOWN)
    waits = [min(base * 2**i, cap) for i in range(int(attempts) - 1)]
    assert sum(waits) > 1.5 * down.restart_after  # the retries outlast the outage
    assert down.how == "stop"
    assert BY_KEY["network-pause-sqlite"].proxy
    never = BY_KEY["async-mdn-never-sqlite"]
    assert never.mdn_sink
    assert (never.expect_failed, never.mdn) == ("mdn-deadline", "async")
    assert dict(MDN_NEVER)["AS2BUS_OUTBOUND_ASYNC_MDN_RESEND"] == "false"


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


def test_the_proxy_moves_nothing_while_paused_then_everything() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        proxy = PausableProxy(server.sockets[0].getsockname()[1]).start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"one")
            assert await asyncio.wait_for(reader.read(10), 5) == b"one"
            proxy.pause()
            await asyncio.sleep(0.1)
            writer.write(b"two")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(reader.read(10), 0.5)
            # A connection opened during the pause is accepted, and waits too.
            late_r, late_w = await asyncio.open_connection("127.0.0.1", proxy.port)
            late_w.write(b"three")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(late_r.read(10), 0.3)
            proxy.resume()
            assert await asyncio.wait_for(reader.read(10), 5) == b"two"
            assert await asyncio.wait_for(late_r.read(10), 5) == b"three"
            assert proxy.connections == 2
            for w in (writer, late_w):
                w.close()
                await w.wait_closed()
        finally:
            proxy.stop()
            await asyncio.sleep(0.1)  # the echo server sees the proxy's connections end
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())


def test_the_sink_answers_200_and_counts() -> None:
    sink = MdnSink().start()
    try:
        with socket.create_connection(("127.0.0.1", sink.port), timeout=5) as s:
            for _ in range(2):  # two requests on one connection
                s.sendall(b"POST /as2/mdn HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
                assert s.recv(100).startswith(b"HTTP/1.1 200 ")
        deadline = time.monotonic() + 5
        while sink.requests < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sink.requests == 2
    finally:
        sink.stop()


RESULT = {
    "scenario": "async-mdn-never-sqlite", "what": "async MDNs that never come",
    "database": "SQLite", "requested": 10, "delivered_once": 0, "delivered_twice": 0,
    "lost": 0, "stuck": 0, "failed": 0, "expected_failure": "mdn-deadline",
    "failed_as_expected": 10, "settled_after_kill_s": 30.0, "settled_after_last_request_s": 22.0,
    "settled_after_fault_ended_s": 30.0, "fault": {"killed_at_s": 2.0, "how": "none"},
    "load": {"seconds": 8, "rate": 4}, "tracklog": {"ok": True}, "ok": True,
}  # fmt: skip


def test_an_expected_failure_is_shown_as_such() -> None:
    line = row(RESULT)
    assert "| 10 | 0 | 0 | 0 | 0 | 0 + 10 as expected (`mdn-deadline`) |" in line
    assert "pass (expected: every request failed `mdn-deadline`)" in line
    bad = row(RESULT | {"failed": 2, "failed_as_expected": 8, "ok": False})
    assert "**2** + 8 as expected" in bad
    assert "**FAIL**" in bad
    down = RESULT | {"expected_failure": None, "failed_as_expected": 0, "delivered_once": 10,
                     "fault": {"killed_at_s": 8.0, "how": "stop"},
                     "settled_after_fault_ended_s": 12.5}  # fmt: skip
    assert "(12.5 after the fault ended)" in row(down)


SLOW = {
    "scenario": "slow-clients", "ok": True, "slow_connections": 600, "slow_load_seconds": 40,
    "settings": {"header_timeout_s": 10, "body_timeout_s": 10, "slow_clients": 200,
                 "margin_s": 3, "exchanges": 100, "spacing_s": 0.2},
    "without_load": {"n": 100, "p50_ms": 80.0, "p95_ms": 120.0, "max_ms": 200.0, "failed": 0},
    "with_slow_clients": {"n": 100, "p50_ms": 90.0, "p95_ms": 150.0, "max_ms": 300.0,
                          "failed": 0},
    "slow_clients": {"slow-headers": {"allowed_s": 10, "connections_ended": 200,
                                      "how": {"HTTP/1.1 408 Request Timeout": 200},
                                      "ended_after_s": {"min": 10.0, "max": 10.4}, "late": 0}},
}  # fmt: skip


def test_the_slow_client_figures_follow_the_table(tmp_path: Path) -> None:
    results, page = tmp_path / "results", tmp_path / "reliability.md"
    results.mkdir()
    (results / "async-mdn-never-sqlite.json").write_text(json.dumps(RESULT))
    (results / "slow-clients.json").write_text(json.dumps(SLOW))
    page.write_text("# Reliability\n\n## Replay protection\n\nTheirs.\n")
    update_docs(page, results, ["async-mdn-never-sqlite"])
    update_docs(page, results, ["async-mdn-never-sqlite"])  # again: replaced, not added
    text = page.read_text()
    assert text.count(SLOW_START) == text.count(SLOW_END) == 1
    assert text.index(END) < text.index(SLOW_START)
    assert "| with the slow clients | 100 | 90.0 | 150.0 | 300.0 | 0 |" in text
    assert (
        "| slow-headers | 10 | 200 | HTTP/1.1 408 Request Timeout: 200 | 10 to 10.4 | 0 |" in text
    )
    assert text.startswith("# Reliability\n\n## Replay protection\n\nTheirs.\n")
