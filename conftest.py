"""Root conftest: loads the shared integration-test plugin (real NATS JetStream and PostgreSQL),
and runs ``as2bus up`` as a real process for the tests that need the whole stack as a user runs
it (the CLI's, the example clients', the console's browser tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _pytest.nodeid import coerce_node_id

from as2bus.cli.stack_setup import SERVICES
from as2bus.testing.infra import free_port_block


class Up:
    """``python -m as2bus.cli up`` with its output collected by a thread."""

    def __init__(self, data: Path, nats_port: int, base_port: int) -> None:
        argv = [sys.executable, "-m", "as2bus.cli", "up", "--data-dir", str(data)]
        argv += ["--nats-port", str(nats_port), "--base-port", str(base_port)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._reader.join(timeout=2)
                raise AssertionError(f"no {text!r} from as2bus up:\n{self.output}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals, timeout: float = 30) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self._reader.join(timeout=5)
            self.proc.stdout.close()


@pytest.fixture
def ports() -> tuple[int, int]:
    """(nats port, base port). The services take base - 1 .. base + 5 (inbound-svc's 8080 sits
    below the default base 8081): a block outside the ephemeral range, see free_port_block."""
    block = free_port_block(len(SERVICES) + 1)
    return block, block + 2


@dataclass(frozen=True)
class RunningStack:
    up: Up
    data: Path
    nats_port: int
    base_port: int


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One ``as2bus up`` for every test that only uses a running gateway (each start costs
    about 14 s), once it is ready and has told where the console is. Its users name what they
    create after themselves, so they do not meet; a test that stops or breaks a stack starts
    its own (``start``)."""
    block = free_port_block(len(SERVICES) + 1)
    data = tmp_path_factory.mktemp("stack") / "data"
    up = Up(data, block, block + 2)
    try:
        up.wait_for("Console: ")
        yield RunningStack(up, data, block, block + 2)
    finally:
        up.kill()


@pytest.fixture
def start(tmp_path: Path, ports: tuple[int, int]) -> Iterator[Any]:
    started: list[Up] = []

    def start_up() -> Up:
        up = Up(tmp_path / "data", *ports)
        started.append(up)
        return up

    yield start_up
    for up in started:  # a failed test must not leave a stack behind
        up.kill()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``make test`` runs two pytest-xdist workers with ``--dist loadgroup``: each test file
    runs whole on one worker (its module fixtures start once), and the files that use the
    session's ``running_stack`` all run on the same worker (one stack, not one per worker)."""
    if not config.pluginmanager.hasplugin("xdist"):
        return  # -p no:xdist: its marker is not even known
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::")[0], []).append(item)
    for path, tests in by_file.items():
        uses_stack = any(
            isinstance(test, pytest.Function) and "running_stack" in test.fixturenames
            for test in tests
        )
        group = "running-stack" if uses_stack else path
        for test in tests:
            test.add_marker(pytest.mark.xdist_group(group))
            if getattr(config.option, "loadgroup", False):  # set on xdist's workers
                _join_group(test, group)


def _join_group(item: pytest.Item, group: str) -> None:
    """The scheduler groups tests by an ``@group`` suffix of their ids, which pytest-xdist
    3.8 adds by setting ``Item._nodeid``; pytest 9.2 reads the id from ``Item._id`` instead,
    so without this every test was scheduled on its own (CI23 ran that way, and the running
    stack was started on both workers). Checked by tests/unit/test_xdist_groups.py."""
    item._id = coerce_node_id(f"{item.nodeid}@{group}")


pytest_plugins = ["as2bus.testing.plugin"]
