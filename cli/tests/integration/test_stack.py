"""``as2bus up`` as a real process: starts, serves, stops cleanly, keeps data, leaves nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from as2bus.cli.main import app
from as2bus.cli.stack_setup import SERVICES, installed
from as2bus.shared.testing.infra import free_port_block

BANNER = "as2bus is up."


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a (possibly absent) reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children_of(pid: int) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def kind(cmdline: str) -> str:
    """Which member of the stack a command line is."""
    if "/nats-server " in cmdline:
        return "nats"
    names = [s.name for s in installed() if f" -m {s.module} " in cmdline]
    return names[0] if names else cmdline


EXPECTED = sorted(["nats", *(s.name for s in installed())])  # config-svc and any later service


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


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
    """(nats port, base port). The services take base - 1 .. base + 3 (inbound-svc's 8080 sits
    below the default base 8081): a block outside the ephemeral range, see free_port_block."""
    block = free_port_block(len(SERVICES) + 1)
    return block, block + 2


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


def cli(data: Path, base_port: int, *args: str) -> Any:
    """The CLI as a user runs it next to ``as2bus up``: the token comes from the data dir."""
    env = {"AS2BUS_DATA_DIR": str(data), "AS2BUS_API_TOKEN": None}
    argv = ["--config-url", f"http://127.0.0.1:{base_port}", *args]
    return CliRunner().invoke(app, argv, env=env)


def test_up_serves_stops_cleanly_and_keeps_the_data(
    start: Any, tmp_path: Path, ports: tuple[int, int]
) -> None:
    data, base_port = tmp_path / "data", ports[1]
    up = start()
    up.wait_for(BANNER)
    children = children_of(up.proc.pid)
    assert sorted(kind(cmd) for cmd in children.values()) == EXPECTED, children
    assert f"http://127.0.0.1:{base_port}/docs" in up.output
    created = cli(data, base_port, "station", "create", "--as2-id", "MYCO", "--name", "My Co")
    assert created.exit_code == 0, created.output
    key = (data / "secrets" / "master.key").read_text()

    assert up.stop(signal.SIGINT) == 0, up.output
    assert "as2bus stopped" in up.output
    assert not [pid for pid in children if alive(pid)], up.output
    assert "config-svc" in (data / "logs" / "config-svc.log").read_text()

    again = start()
    again.wait_for(BANNER)
    shown = cli(data, base_port, "station", "show", "MYCO")
    assert shown.exit_code == 0, shown.output + again.output
    assert (data / "secrets" / "master.key").read_text() == key
    children = children_of(again.proc.pid)
    assert again.stop(signal.SIGTERM) == 0, again.output
    assert not [pid for pid in children if alive(pid)]


def test_children_die_with_a_killed_up(start: Any) -> None:
    up = start()
    up.wait_for(BANNER)
    children = children_of(up.proc.pid)
    assert len(children) == len(EXPECTED)
    up.kill()  # SIGKILL: no chance to clean up; PR_SET_PDEATHSIG does it
    wait_until(lambda: not any(alive(pid) for pid in children), 15, "orphans to exit")


def test_a_child_dying_stops_the_rest(start: Any) -> None:
    up = start()
    up.wait_for(BANNER)
    children = children_of(up.proc.pid)
    [service] = [pid for pid, cmd in children.items() if "as2bus.config" in cmd]
    os.kill(service, signal.SIGKILL)
    assert up.proc.wait(timeout=30) == 1
    up.kill()  # joins the output reader
    assert "error: config-svc exited unexpectedly (code -9)" in up.output
    assert "Application startup complete" in up.output  # its last log lines are shown
    assert not [pid for pid in children if alive(pid)]


def test_a_taken_port_is_reported(start: Any, ports: tuple[int, int]) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", ports[0]))
        server.listen()
        up = start()
        assert up.proc.wait(timeout=30) == 1
    up.kill()
    assert f"error: port {ports[0]} (for NATS) is already in use" in up.output
    assert BANNER not in up.output


def test_the_loopback_demo_delivers_right_after_up(
    start: Any, tmp_path: Path, ports: tuple[int, int]
) -> None:
    up = start()
    up.wait_for("Loopback demo created")
    document = tmp_path / "po.x12"
    document.write_bytes(b"ISA*00*demo~\r\nST*850*0001~\r\n" * 10)
    argv = ["send", str(document), "--from", "DEMO-A", "--to", "DEMO-B"]
    env = {"AS2BUS_DATA_DIR": str(tmp_path / "data")}  # the CLI's NATS user is kept there
    sent = CliRunner().invoke(app, [*argv, "--nats-url", f"nats://127.0.0.1:{ports[0]}"], env=env)
    assert sent.exit_code == 0, sent.output
    assert "MDN processed (signed and verified, MIC matches)" in sent.output
    assert up.stop(signal.SIGINT) == 0, up.output
