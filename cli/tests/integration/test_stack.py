"""``as2bus up`` as a real process: starts, serves, stops cleanly, keeps data, leaves nothing;
its NATS refuses anonymous clients and gives each service and the CLI its own user."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.errors import NoServersError
from typer.testing import CliRunner

from as2bus.cli.main import app
from as2bus.cli.stack_nats import NATS_USERS
from as2bus.cli.stack_setup import find_nats_server, installed
from as2bus.contracts.outbound import SEND_SUBJECT
from as2bus.testing.waiting import (
    nothing_within,
    nothing_within_sync,
    until,
    until_sync,
)

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


def test_one_ctrl_c_that_arrives_twice_still_stops_gracefully(start: Any) -> None:
    """A terminal signals its whole foreground group and `uv run` passes the signal on: one
    press reaches `up` twice, which must not be taken for the impatient second press."""
    up = start()
    up.wait_for(BANNER)
    up.proc.send_signal(signal.SIGINT)
    time.sleep(0.05)  # signals sent closer together are merged into one by the kernel
    up.proc.send_signal(signal.SIGINT)
    assert up.proc.wait(timeout=60) == 0, up.output
    up.kill()
    assert "killing it" not in up.output
    assert "as2bus stopped" in up.output


def test_children_die_with_a_killed_up(start: Any) -> None:
    """Killed while its services still start (the moment it least expects it)."""
    up = start()
    until_sync(lambda: len(children_of(up.proc.pid)) == len(EXPECTED), what="every child",
               timeout=60, interval=0.1)  # fmt: skip
    children = children_of(up.proc.pid)
    up.kill()  # SIGKILL: no chance to clean up; PR_SET_PDEATHSIG does it
    until_sync(lambda: not any(alive(pid) for pid in children), what="orphans to exit",
               timeout=15, interval=0.1)  # fmt: skip


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_dead_child_is_restarted_and_the_others_keep_running(
    start: Any, tmp_path: Path, ports: tuple[int, int]
) -> None:
    """kill -9 of a service, then of nats-server: each comes back (with a longer delay the
    second time in a row), the others keep their pids, and the stack still serves."""
    data, (nats_port, base_port) = tmp_path / "data", ports
    up = start()
    up.wait_for(BANNER)
    before = {kind(cmd): pid for pid, cmd in children_of(up.proc.pid).items()}

    os.kill(before["config-svc"], signal.SIGKILL)
    up.wait_for("config-svc died (killed by SIGKILL); restarting it in 1 s")
    up.wait_for("config-svc is ready again")
    assert _ready(base_port)
    after = {kind(cmd): pid for pid, cmd in children_of(up.proc.pid).items()}
    assert after["config-svc"] != before["config-svc"]
    assert {k: p for k, p in after.items() if k != "config-svc"} == {
        k: p for k, p in before.items() if k != "config-svc"
    }, up.output
    assert up.proc.poll() is None

    os.kill(after["config-svc"], signal.SIGKILL)  # again at once: the delay doubles
    up.wait_for("config-svc died (killed by SIGKILL); restarting it in 2 s")
    os.kill(after["nats"], signal.SIGKILL)
    up.wait_for("nats died (killed by SIGKILL); restarting it in 1 s")
    up.wait_for("nats is ready again")
    until_sync(lambda: up.output.count("config-svc is ready again") == 2, what="config-svc",
               timeout=60, interval=0.2)  # fmt: skip
    # The services reconnect to the new nats-server: a change is made and published.
    for _ in range(30):
        created = cli(data, base_port, "station", "create", "--as2-id", "BACK", "--name", "Back")
        if created.exit_code == 0:
            break
        time.sleep(1)  # a retry loop: config-svc may still be reconnecting to NATS
    assert created.exit_code == 0, created.output
    children = children_of(up.proc.pid)
    assert sorted(kind(cmd) for cmd in children.values()) == EXPECTED, children
    assert up.stop(signal.SIGINT) == 0, up.output
    assert "as2bus stopped" in up.output
    assert not [pid for pid in children if alive(pid)], up.output
    assert f"{nats_port}" in up.output


def test_a_taken_port_is_reported(start: Any, ports: tuple[int, int]) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", ports[0]))
        server.listen()
        up = start()
        assert up.proc.wait(timeout=30) == 1
    up.kill()
    assert f"error: port {ports[0]} (for NATS) is already in use" in up.output
    assert BANNER not in up.output


# The next three share one stack (module scope): each starts its own data nowhere else.


def test_the_loopback_demo_delivers_right_after_up(running_stack: Any, tmp_path: Path) -> None:
    """The demo is set up as a user sets up a partner: a keystore per partnership (which the
    console's Certificate page lists and Rotate needs), and its message is delivered."""
    up, ports = running_stack.up, (running_stack.nats_port, running_stack.base_port)
    up.wait_for("Loopback demo created")
    urls = ["--config-url", f"http://127.0.0.1:{ports[1]}",
            "--cert-url", f"http://127.0.0.1:{ports[1] + 1}"]  # fmt: skip
    env = {"AS2BUS_DATA_DIR": str(running_stack.data), "AS2BUS_API_TOKEN": None}
    listed = CliRunner().invoke(app, [*urls, "--json", "keystore", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    keystores = {(k["station_as2_id"], k["partner_as2_id"]): k for k in json.loads(listed.output)}
    for ours, theirs in (("DEMO-A", "DEMO-B"), ("DEMO-B", "DEMO-A")):
        keystore, other_side = keystores[(ours, theirs)], keystores[(theirs, ours)]
        assert [c["state"] for c in keystore["own_certificates"]] == ["active"]
        # Each trusts the other's certificate: the demo's exchange depends on it.
        assert [c["fingerprint_sha256"] for c in keystore["partner_certificates"]] == [
            c["fingerprint_sha256"] for c in other_side["own_certificates"]
        ]
    password = running_stack.data / "secrets" / "demo-keystore-password"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert str(password) in up.output
    document = tmp_path / "po.x12"
    document.write_bytes(b"ISA*00*demo~\r\nST*850*0001~\r\n" * 10)
    argv = ["send", str(document), "--from", "DEMO-A", "--to", "DEMO-B"]
    env = {"AS2BUS_DATA_DIR": str(running_stack.data)}  # the CLI's NATS user is kept there
    sent = CliRunner().invoke(app, [*argv, "--nats-url", f"nats://127.0.0.1:{ports[0]}"], env=env)
    assert sent.exit_code == 0, sent.output
    assert sent.output.splitlines()[-1] == "delivered", sent.output


def test_what_up_creates_in_the_data_dir_is_its_users_alone(running_stack: Any) -> None:
    """The databases (password hashes, sessions, documents), the logs and NATS's store are
    readable by no other user of the machine, nor is the data dir itself."""
    data = running_stack.data
    running_stack.up.wait_for("Loopback demo created")  # the services have written their data
    created = [data, *data.rglob("*")]
    # The services' databases and logs (nats-server's store holds index.db files of its own).
    assert len(list(data.glob("*.db"))) == len(installed())
    assert len(list(data.glob("logs/*.log"))) == len(installed()) + 1  # and nats-server's
    modes = {str(p): _mode(p) for p in created}
    assert not {p: oct(m) for p, m in modes.items() if m is not None and m & 0o077}


def _mode(path: Path) -> int | None:
    """None for a file gone meanwhile (a journal, a store's temporary file)."""
    try:
        return stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:
        return None


async def _errors_of(url: str, subject: str, *, refused: bool) -> tuple[list[str], bool]:
    """Publish on ``subject`` as the URL's user: (async errors the server sent, connected).
    ``refused``: whether the server is expected to refuse it (then its error is waited for)."""
    errors: list[str] = []

    async def on_error(err: Exception) -> None:
        errors.append(str(err))

    try:
        nc = await nats.connect(url, allow_reconnect=False, connect_timeout=3,
                                max_reconnect_attempts=0, error_cb=on_error)  # fmt: skip
    except (NoServersError, OSError, nats.errors.Error) as err:
        return [*errors, str(err)], False
    try:
        await nc.publish(subject, b"{}")
        await nc.flush()
        # A refusal comes asynchronously, as an -ERR: not always before flush()'s PONG (for a
        # $JS.API subject it came after it).
        if refused:
            await until(lambda: errors, what=f"the refusal of {subject}", timeout=5)
        else:  # that none comes can only be watched for a while (a refusal takes < 1 ms here)
            await nothing_within(0.3, lambda: errors, what=f"a refusal of {subject}")
    finally:
        await nc.close()
    return errors, True


def _anonymous_answer(port: int) -> str:
    """What nats-server answers a client that connects with no credentials. A raw socket:
    nats-py's refused connection leaves objects whose finalizers warn later, in other tests."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.settimeout(5)
        answer = b""
        while b"\r\n" not in answer:  # the INFO line comes first
            answer += conn.recv(4096)
        conn.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        while b"-ERR" not in answer and b"PONG" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode(errors="replace").split("\r\n", 1)[1]


def _password(data: Path, user: str) -> str:
    return (data / "secrets" / "nats" / user).read_text().strip()


def test_nats_refuses_anonymous_clients_and_limits_each_user(
    running_stack: Any, tmp_path: Path
) -> None:
    ports = (running_stack.nats_port, running_stack.base_port)
    data, url = running_stack.data, f"127.0.0.1:{ports[0]}"
    running_stack.up.wait_for("Loopback demo created")
    for user in NATS_USERS:
        assert stat.S_IMODE((data / "secrets" / "nats" / user).stat().st_mode) == 0o600

    assert "authorization violation" in _anonymous_answer(ports[0]).lower()

    tracklog = f"nats://tracklog-svc:{_password(data, 'tracklog-svc')}@{url}"
    errors, connected = asyncio.run(_errors_of(tracklog, SEND_SUBJECT, refused=True))
    assert connected
    assert any("permissions violation" in e.lower() for e in errors), errors

    app_user = f"nats://app:{_password(data, 'app')}@{url}"
    assert asyncio.run(_errors_of(app_user, SEND_SUBJECT, refused=False)) == ([], True)
    # An outside system's user cannot forge events nor remove what the gateway relies on.
    for forbidden in ("as2.evt.message.outbound.delivered", "$JS.API.STREAM.DELETE.AS2_EVENTS"):
        errors, _ = asyncio.run(_errors_of(app_user, forbidden, refused=True))
        assert any("permissions violation" in e.lower() for e in errors), (forbidden, errors)

    # The CLI end to end under these users: send, then the document in the inbox.
    env = {"AS2BUS_DATA_DIR": str(data), "AS2BUS_NATS_URL": f"nats://{url}"}
    document = tmp_path / "po.x12"
    document.write_bytes(b"ISA*00*users~\r\n" * 10)
    sent = CliRunner().invoke(app, ["send", str(document), "--from", "DEMO-A", "--to", "DEMO-B"],
                              env=env)  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert sent.output.splitlines()[-1] == "delivered", sent.output
    inbox = tmp_path / "inbox"
    received = CliRunner().invoke(app, ["inbox", "--follow", str(inbox), "--once"], env=env)
    assert received.exit_code == 0, received.output
    assert document.read_bytes() in [p.read_bytes() for p in inbox.iterdir() if p.is_file()]


def test_a_data_dir_from_before_nats_users_gets_them_and_keeps_its_streams(
    start: Any,
    tmp_path: Path,
    ports: tuple[int, int],
) -> None:
    """An anonymous nats-server's store (streams in the global account), as older versions
    left it: the next `as2bus up` creates the users and the streams stay visible to them."""
    data, url = tmp_path / "data", f"127.0.0.1:{ports[0]}"
    argv = [str(find_nats_server()), "-js", "-a", "127.0.0.1", "-p", str(ports[0])]
    old = subprocess.Popen([*argv, "-sd", str(data / "nats")], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)  # fmt: skip

    async def make_stream() -> None:
        for _ in range(50):
            try:
                nc = await nats.connect(f"nats://{url}", allow_reconnect=False)
                break
            except (NoServersError, OSError):
                await asyncio.sleep(0.1)  # a polling loop: until nats-server listens
        await nc.jetstream().add_stream(name="OLDER", subjects=["older.>"])
        await nc.close()

    try:
        asyncio.run(make_stream())
    finally:
        old.terminate()
        old.wait(10)
    assert not (data / "secrets" / "nats").exists()

    up = start()
    up.wait_for(BANNER)

    async def stream_names() -> list[str]:
        # Listing streams is an operator's work: the admin user (app may not list them).
        nc = await nats.connect(f"nats://admin:{_password(data, 'admin')}@{url}")
        try:
            return [s.config.name async for s in _streams(nc)]
        finally:
            await nc.close()

    assert "OLDER" in asyncio.run(stream_names())
    assert up.stop(signal.SIGINT) == 0, up.output


async def _streams(nc: Any) -> Any:
    for info in await nc.jetstream().streams_info():
        yield info


# --- the README, as a new user types it ---------------------------------------------------

REPO = Path(__file__).resolve().parents[3]
#: What the test gives a README line that would otherwise wait for a person or run forever.
PROMPT_ANSWERS = {"keystore create": "readme-export-pw\nreadme-export-pw\n"}
RUNS_UNTIL_STOPPED = ("inbox --follow", "track watch")


def _saved(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _live_streams(tracklog_url: str) -> int:
    """How many ``track watch`` (and console) streams tracklog-svc is serving."""
    metrics = httpx.get(f"{tracklog_url}/metrics", timeout=5).text
    found = re.search(r"^as2bus_tracklog_live_streams (\S+)$", metrics, re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def _runs_until_stopped(command: str, argv: list[str], work: Path, env: dict[str, str]) -> str:
    """Run a README line that goes on until stopped: it does its work (the documents sent
    above saved; the watcher connected), is still running a moment later, then ends on
    SIGTERM. Returns what went wrong ("" when nothing did)."""
    streams = _live_streams(env["AS2BUS_TRACKLOG_URL"])
    at_work: dict[str, Callable[[], bool]] = {
        "inbox --follow": lambda: {"README.md", "LICENSE"} <= _saved(work / "received"),
        "track watch": lambda: _live_streams(env["AS2BUS_TRACKLOG_URL"]) > streams,
    }
    check = next(check for marker, check in at_work.items() if marker in command)
    proc = subprocess.Popen(argv, cwd=work, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    wrong = ""
    try:
        until_sync(lambda: check() or proc.poll() is not None, what="it at work", timeout=30)
        # An end of its own would come at once after that; it can only be watched for a while.
        nothing_within_sync(1, lambda: proc.poll() is not None, what="it ending on its own")
    except AssertionError as err:
        wrong = str(err)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=20)
    if wrong or "Traceback" in output:
        return f"{wrong}\n{output}"
    return ""


def readme_commands() -> list[str]:
    """Every ``./as2bus ...`` line of the README's shell blocks, continuations joined."""
    lines, in_shell, pending = [], False, ""
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("```"):
            in_shell = line.strip() == "```bash"
            continue
        if not in_shell:
            continue
        line = pending + line.split("  #")[0].rstrip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        if line.startswith("./as2bus "):
            lines.append(line)
    return lines


def test_every_readme_command_works_in_a_clean_shell(running_stack: Any, tmp_path: Path) -> None:
    """After `make sync`, each README line runs as written, through ./as2bus, in a shell
    whose PATH holds nothing of ours (not .venv, not .tools), against a running gateway."""
    commands = readme_commands()
    assert len(commands) >= 13, commands  # a README that lost its examples fails here
    running_stack.up.wait_for("Loopback demo created")
    nats_port, base = running_stack.nats_port, running_stack.base_port
    work = tmp_path / "work"
    work.mkdir()
    for name in ("README.md", "LICENSE"):  # the files the README sends
        (work / name).write_bytes((REPO / name).read_bytes())
    partner = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "amazon.key",
         "-out", "amazon.cer", "-days", "30", "-subj", "/CN=amazon"],
        cwd=work, capture_output=True, check=True,
    )  # fmt: skip
    assert partner.returncode == 0
    env = {
        "HOME": str(tmp_path),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AS2BUS_DATA_DIR": str(running_stack.data),
        "AS2BUS_NATS_URL": f"nats://127.0.0.1:{nats_port}",
        "AS2BUS_CONFIG_URL": f"http://127.0.0.1:{base}",
        "AS2BUS_CERT_URL": f"http://127.0.0.1:{base + 1}",
        "AS2BUS_TRACKLOG_URL": f"http://127.0.0.1:{base + 3}",
        "AS2BUS_PARTNER_PASSWORD": "readme-partner-pw",  # --auth basic would prompt for it
    }
    failed = {}
    for command in commands:
        argv = [str(REPO / "as2bus"), *shlex.split(command)[1:]]
        if any(marker in command for marker in RUNS_UNTIL_STOPPED):
            if wrong := _runs_until_stopped(command, argv, work, env):
                failed[command] = wrong
            continue
        answer = next((a for k, a in PROMPT_ANSWERS.items() if k in command), None)
        for _ in range(50):  # cert-svc learns of a new partnership over the bus
            done = subprocess.run(argv, cwd=work, env=env, input=answer, text=True,
                                  capture_output=True, timeout=60, check=False)  # fmt: skip
            if done.returncode == 0 or "no partnership" not in done.stdout + done.stderr:
                break
            time.sleep(0.2)  # a retry loop: cert-svc learns of the partnership soon
        if done.returncode != 0:
            failed[command] = done.stdout + done.stderr
    assert failed == {}
    assert (work / "myco.cer").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert any((work / "received").iterdir())  # the demo's document, by inbox --follow
    # The two-document message arrived whole: its second document saved beside the first.
    assert (work / "received" / "LICENSE").read_bytes() == (REPO / "LICENSE").read_bytes()
