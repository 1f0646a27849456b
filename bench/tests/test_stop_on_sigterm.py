"""A bench run stopped with SIGTERM leaves nothing behind: its nats-server stopped and the
scratch directory (in /dev/shm, gigabytes after the large documents) removed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

RUN = """
import time
from as2bus.testing.infra import LocalNats
from bench.stack import stop_on_sigterm

{install}
nats = LocalNats()
try:
    print(nats.workdir, nats.pid, flush=True)
    time.sleep(60)
finally:
    nats.stop()
"""


def _run_and_terminate(install: str) -> tuple[Path, int, int]:
    child = subprocess.Popen(
        [sys.executable, "-c", RUN.format(install=install)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert child.stdout is not None
    with child.stdout:
        workdir, pid = child.stdout.readline().split()
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=30)
    return Path(workdir), int(pid), code


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_sigterm_stops_the_stack_and_removes_its_scratch_directory() -> None:
    workdir, nats_pid, code = _run_and_terminate("stop_on_sigterm()")
    assert code == 128 + signal.SIGTERM
    assert not workdir.exists()
    assert _gone(nats_pid)


def test_without_it_the_scratch_directory_stays_behind() -> None:
    # What the handler is for: Python's default dies at once and no finally runs.
    workdir, nats_pid, code = _run_and_terminate("")
    try:
        assert code == -signal.SIGTERM
        assert workdir.exists()
    finally:
        _gone(nats_pid)  # it dies with its parent (the testing helpers ask the kernel to)
        shutil.rmtree(workdir, ignore_errors=True)
