"""``as2bus track`` against a real tracklog-svc process fed over real JetStream."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from as2bus.cli import track
from as2bus.cli.client import CliError, CliState
from as2bus.contracts import Event
from as2bus.shared.bus import open_bus, publish_event
from as2bus.testing.services import ServiceProcess
from as2bus.testing.tracklog import T0, inbound, outbound
from as2bus.testing.waiting import until

TOKEN = "cli-track-token-0123456789"


@pytest.fixture
def tracklog(nats_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {"AS2BUS_NATS_URL": nats_url, "AS2BUS_API_TOKEN": TOKEN,
           "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/tracklog.db"}  # fmt: skip
    proc = ServiceProcess("as2bus.tracklog", env, tmp_path / "tracklog.log").start()
    yield proc
    assert proc.stop() in (0, -signal.SIGTERM), proc.log()


async def publish(nats_url: str, events: list[Event]) -> None:
    bus = await open_bus(nats_url, name="cli-track-test")
    try:
        for event in events:
            await publish_event(bus.broker, event)
    finally:
        await bus.close()


def cli(proc: ServiceProcess, *args: str) -> Any:
    state = CliState(token=TOKEN, json="--json" in args)
    argv = ["--tracklog-url", proc.base_url, *(a for a in args if a != "--json")]
    result = CliRunner().invoke(track.app, argv, obj=state)
    assert result.exit_code == 0, result.output
    return result


async def test_list_show_stats_and_watch(nats_url: str, tracklog: ServiceProcess) -> None:
    watched: list[Any] = []
    finals = ["--status", "failed", "--status", "mdn-sent", "--count", "2"]
    watcher = threading.Thread(target=lambda: watched.append(cli(tracklog, "watch", *finals)))
    watcher.start()
    async with httpx.AsyncClient(base_url=tracklog.base_url) as http:

        async def connected() -> bool:
            return "as2bus_tracklog_live_streams 1.0" in (await http.get("/metrics")).text

        await until(connected, what="the watcher connected")
    await publish(nats_url, outbound("<o1@myco>", fail="CERT_HAS_EXPIRED: acme's certificate"))
    await publish(nats_url, inbound("<i1@acme>", at=T0.replace(hour=10)))
    await asyncio.to_thread(watcher.join, 20)
    assert watched, "watch did not see two changes"
    assert watched[0].stderr == "watching status changes (Ctrl-C stops)\n"  # before any change
    assert [line.split()[-2:] for line in watched[0].stdout.splitlines()] == [
        ["failed", "<o1@myco>"], ["mdn-sent", "<i1@acme>"],
    ]  # fmt: skip

    listed = cli(tracklog, "list", "--direction", "outbound").stdout
    assert "<o1@myco>" in listed
    assert "<i1@acme>" not in listed
    shown = cli(tracklog, "show", "<o1@myco>").stdout
    assert "MessageFailed  failed after 1 attempt: CERT_HAS_EXPIRED" in shown
    window = ["--since", T0.isoformat(), "--until", T0.replace(day=3).isoformat()]
    figures = json.loads(cli(tracklog, "stats", "--json", *window, "--bucket", "day").stdout)
    counts = {(c["status"], c["count"]) for c in figures["counts"]}
    assert counts == {("failed", 1), ("mdn-sent", 1)}


async def test_a_message_id_seen_both_ways_is_shown_by_direction(
    nats_url: str, tracklog: ServiceProcess
) -> None:
    """The loopback demo sends to itself: one Message-ID, an outbound and an inbound row."""
    await publish(nats_url, outbound("<loop@myco>") + inbound("<loop@myco>"))

    async def both_rows() -> bool:
        listed = await asyncio.to_thread(cli, tracklog, "list", "--json")
        rows = json.loads(listed.stdout)["items"]
        return [r["message_id"] for r in rows].count("<loop@myco>") == 2

    await until(both_rows, what="both rows of <loop@myco>")
    state = CliState(token=TOKEN, json=False)
    ambiguous = CliRunner().invoke(
        track.app, ["--tracklog-url", tracklog.base_url, "show", "<loop@myco>"], obj=state
    )
    assert ambiguous.exit_code == 1
    assert isinstance(ambiguous.exception, CliError)  # the CLI's root prints it as "error: ..."
    assert "add --direction outbound or inbound" in ambiguous.exception.lines[0]
    for direction in ("inbound", "outbound"):
        shown = json.loads(
            cli(tracklog, "show", "<loop@myco>", "--direction", direction, "--json").stdout
        )
        assert (shown["direction"], shown["message_id"]) == (direction, "<loop@myco>")
