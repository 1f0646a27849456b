"""``as2bus send --request-id`` with an id published a moment ago, on real JetStream: the
stream drops the publish as a repeat, and the user is told in one line instead of waiting for
an outcome that is the first request's."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from as2bus.cli.main import app
from as2bus.shared.bus import open_bus


async def _streams(nats_url: str) -> None:
    bus = await open_bus(nats_url, name="test-streams")  # what the services declare
    await bus.close()


def test_a_request_id_published_a_moment_ago_is_said_in_one_line(
    nats_url: str, tmp_path: Path
) -> None:
    asyncio.run(_streams(nats_url))
    (tmp_path / "first.x12").write_bytes(b"ISA*first document~")
    (tmp_path / "second.x12").write_bytes(b"ISA*SECOND, different document~")
    route = ["--from", "DEMO-A", "--to", "DEMO-B", "--request-id", "inv-7", "--wait", "0",
             "--nats-url", nats_url]  # fmt: skip
    first = CliRunner().invoke(app, ["send", str(tmp_path / "first.x12"), *route])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(app, ["send", str(tmp_path / "second.x12"), *route])
    assert second.exit_code == 1, second.output
    assert second.output.splitlines() == [
        "error: the request id 'inv-7' was already published within the last 2 minutes, so "
        "this publish was dropped: if it was the same request, wait for that one's outcome; "
        "otherwise give this document its own request id (the request under it: as2bus track "
        "list --request-id 'inv-7')"
    ]
