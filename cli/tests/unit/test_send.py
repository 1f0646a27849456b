"""``as2bus send`` as a user runs it: an unreachable gateway is one line, at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

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
