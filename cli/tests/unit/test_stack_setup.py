"""The parts of `as2bus up` that need no child process."""

from __future__ import annotations

import os
import shlex
import socket
import stat
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import typer
from typer.testing import CliRunner

from as2bus.cli.client import CliError
from as2bus.cli.main import app
from as2bus.cli.stack import Stack
from as2bus.cli.stack_nats import NATS_MEMORY_LIMIT, memory_limit_env
from as2bus.cli.stack_setup import (
    DEFAULT_BASE_PORT,
    SERVICES,
    banner,
    find_nats_server,
    installed,
    is_installed,
    port_taken,
    prepare_data_dir,
)
from as2bus.shared.crypto import SecretBox


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_are_created_private_once_and_then_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    master_key, token = prepare_data_dir(data)
    SecretBox(master_key)
    assert len(token) >= 40
    assert mode(data / "secrets") == 0o700
    assert mode(data / "secrets" / "master.key") == 0o600
    tokens = {s: data / "secrets" / "tokens" / s for s in ("read", "operate", "admin")}
    assert all(mode(path) == 0o600 for path in tokens.values())
    assert tokens["admin"].read_text().strip() == token
    assert len({path.read_text() for path in tokens.values()}) == 3
    assert (data / "logs").is_dir()
    assert (data / "nats").is_dir()
    assert prepare_data_dir(data) == (master_key, token)


def test_a_data_dir_from_before_scopes_keeps_its_token_as_the_admin_token(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir(parents=True)
    (tmp_path / "secrets" / "api-token").write_text("older-token\n")
    _, token = prepare_data_dir(tmp_path)
    assert token == "older-token"
    assert (tmp_path / "secrets" / "tokens" / "admin").read_text() == "older-token\n"
    assert (tmp_path / "secrets" / "tokens" / "read").read_text().strip() != "older-token"


def test_a_data_dir_an_older_up_left_readable_becomes_its_users_alone(tmp_path: Path) -> None:
    """Files created before `up` set its umask: 0644 databases and logs in 0755 directories."""
    for sub in ("logs", "nats"):
        (tmp_path / sub).mkdir(mode=0o755)
        (tmp_path / sub).chmod(0o755)
    old = [tmp_path / "console.db", tmp_path / "console.db-wal", tmp_path / "logs" / "nats.log"]
    for path in old:
        path.write_text("x")
        path.chmod(0o644)
    prepare_data_dir(tmp_path)
    assert [mode(p) for p in old] == [0o600, 0o600, 0o600]
    assert mode(tmp_path / "logs") == mode(tmp_path / "nats") == 0o700


def test_an_emptied_secret_file_is_an_error(tmp_path: Path) -> None:
    prepare_data_dir(tmp_path)
    (tmp_path / "secrets" / "master.key").write_text("")
    with pytest.raises(CliError, match=r"master\.key is empty"):
        prepare_data_dir(tmp_path)


def test_a_listening_port_is_taken() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert port_taken(port)
    assert not port_taken(port)


def test_a_taken_port_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        stack = Stack(tmp_path, port, 0)
        with pytest.raises(CliError, match=f"port {port} .* already in use.*--nats-port"):
            stack._check_ports()
    assert stack.children == []


def test_make_run_chooses_the_nats_port_by_the_environment(tmp_path: Path) -> None:
    """`make run` passes no options, only its environment: AS2BUS_NATS_PORT is --nats-port's
    default, as AS2BUS_BASE_PORT is --base-port's, and a taken port names both ways."""
    umask = os.umask(0o022)  # `up` makes its files private: this process's umask is restored
    try:
        with socket.socket() as nats, socket.socket() as config:
            for server in (nats, config):
                server.bind(("127.0.0.1", 0))
                server.listen()
            port = nats.getsockname()[1]
            # config-svc's port taken too: were the variable ignored, `up` would stop there
            # rather than start a gateway on the default NATS port.
            env = {"AS2BUS_DATA_DIR": str(tmp_path), "AS2BUS_NATS_PORT": str(port),
                   "AS2BUS_BASE_PORT": str(config.getsockname()[1])}  # fmt: skip
            result = CliRunner().invoke(app, ["up"], env=env)
    finally:
        os.umask(umask)
    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert f"error: port {port} (for NATS) is already in use" in said
    assert "with --nats-port (make run: AS2BUS_NATS_PORT=PORT make run)." in said


def test_the_registry_finds_config_svc_without_importing_it() -> None:
    assert "as2bus.config" in [s.module for s in installed()]
    assert SERVICES[0].port == 8081
    assert not is_installed("as2bus.not_a_service")
    assert not is_installed("not_a_package.sub")
    assert find_nats_server().name == "nats-server"


def test_the_banner_says_where_everything_is(tmp_path: Path) -> None:
    stack = Stack(tmp_path, 4333, 9000)
    text = banner(stack.data, stack.nats_url, stack.services, stack.port_of)
    assert "nats://127.0.0.1:4333" in text
    assert "http://127.0.0.1:9000/docs" in text
    assert f"{tmp_path}/logs/<name>.log" in text
    assert f"{tmp_path}/secrets: API tokens per scope in tokens/" in text
    assert "NATS passwords per user in nats/" in text
    assert f"export AS2BUS_DATA_DIR={tmp_path} AS2BUS_CONFIG_URL=http://127.0.0.1:9000 " in text
    assert "./as2bus partner list" in text
    assert " create " not in text  # what it suggests works on the second run as on the first


def _url_options() -> dict[str, str]:
    """Every service URL a CLI command reads from the environment: variable -> default."""
    found: dict[str, str] = {}
    commands = [typer.main.get_command(app)]
    while commands:
        command = commands.pop()
        commands += getattr(command, "commands", {}).values()
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            if isinstance(envvar, str) and envvar.endswith("_URL") and envvar != "AS2BUS_NATS_URL":
                found[envvar] = str(param.default)
    return found


def test_the_export_line_points_every_command_at_a_moved_gateway(tmp_path: Path) -> None:
    """Pasted, it makes every CLI command talk to this gateway, not the one at the default
    ports: each URL a command reads (config, cert, tracklog, console, notify), the data dir
    (the tokens) and NATS."""
    stack = Stack(tmp_path, 4333, DEFAULT_BASE_PORT + 1000)
    text = banner(stack.data, stack.nats_url, stack.services, stack.port_of)
    line = next(line for line in text.splitlines() if line.startswith("  export "))
    exported = dict(word.split("=", 1) for word in shlex.split(line)[1:])
    default_ports = {env: urlsplit(url).port or 0 for env, url in _url_options().items()}
    assert set(default_ports) >= {"AS2BUS_CONFIG_URL", "AS2BUS_TRACKLOG_URL", "AS2BUS_NOTIFY_URL"}
    # A command's default URL is where `up` puts that service by default; moved with the rest.
    assert set(default_ports.values()) <= {s.port for s in SERVICES}
    assert exported == {
        "AS2BUS_DATA_DIR": str(tmp_path),
        "AS2BUS_NATS_URL": "nats://127.0.0.1:4333",
        **{env: f"http://127.0.0.1:{port + 1000}" for env, port in default_ports.items()},
    }


def test_the_default_banner_needs_no_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stack = Stack(Path("var"), 4222, 8081)
    text = banner(stack.data, stack.nats_url, stack.services, stack.port_of)
    assert "export" not in text
    assert "config-svc   http://127.0.0.1:8081" in text


def test_one_up_per_data_dir(tmp_path: Path) -> None:
    first, second = Stack(tmp_path, 1, 2), Stack(tmp_path, 3, 4)
    first._lock()
    with pytest.raises(CliError, match="another 'as2bus up' is using"):
        second._lock()
    first.stop(threading.Event())  # releases the lock
    second._lock()
    second.stop(threading.Event())


def test_nats_server_gets_a_memory_limit_unless_the_environment_has_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    assert memory_limit_env() == {"GOMEMLIMIT": NATS_MEMORY_LIMIT}
    monkeypatch.setenv("GOMEMLIMIT", "1GiB")
    assert memory_limit_env() == {}  # the operator's own stays


def test_up_help_says_where_base_port_puts_each_service(tmp_path: Path) -> None:
    """--base-port's help names the port of every service `up` starts (inbound-svc's is the
    one below config-svc's), and moving the base moves them all alike."""
    result = CliRunner().invoke(app, ["up", "--help"], env={"COLUMNS": "200"})
    help_text = " ".join(result.output.split())
    stack = Stack(tmp_path, 4222, DEFAULT_BASE_PORT)
    for service in SERVICES:
        assert f"({service.name}) {stack.port_of(service)}" in help_text, help_text
    moved = Stack(tmp_path, 4222, DEFAULT_BASE_PORT + 100)
    assert all(moved.port_of(s) == stack.port_of(s) + 100 for s in SERVICES)
