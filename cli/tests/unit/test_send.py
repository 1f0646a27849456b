"""``as2bus send`` as a user runs it: an unreachable gateway is one line, at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from as2bus.cli.main import app
from as2bus.testing.infra import free_port


def test_an_unreachable_nats_is_one_line_within_seconds(tmp_path: Path) -> None:
    document = tmp_path / "po.edi"
    document.write_bytes(b"ISA*00~")
    url = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "as2bus.cli", "send", str(document), "--from", "MYCO", "--to",
         "acme", "--nats-url", url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    output = (done.stdout + done.stderr).splitlines()
    assert output == [
        f"error: cannot reach NATS at {url} (nats: no servers available for connection): "
        "is the gateway running? (set --nats-url or AS2BUS_NATS_URL)"
    ]
    assert done.returncode == 1
    assert took < 8, f"took {took:.1f} s"


def test_a_negative_wait_or_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "po.edi").write_bytes(b"ISA*00~")  # the tests run in tmp_path (conftest)
    (tmp_path / "folder").mkdir()
    route = ["--from", "MYCO", "--to", "acme", "--nats-url", f"nats://127.0.0.1:{free_port()}"]
    said = {
        "Invalid value for '--wait'": ["po.edi", "--wait", "-1"],
        "'missing.edi' does not exist": ["missing.edi"],
        "'folder' is a directory": ["folder"],
    }
    for words, args in said.items():
        result = CliRunner().invoke(app, ["send", *args, *route])
        assert result.exit_code == 2, result.output
        assert words in result.output
