"""``as2bus up``: NATS and every installed service on this machine, for ``make run``."""

from __future__ import annotations

import fcntl
import functools
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Annotated

import httpx
import typer

from as2bus.cli.client import CliError
from as2bus.cli.console_admin import first_admin
from as2bus.cli.demo import DEMO_FROM, DEMO_TO, TRY_IT, keystores_told, set_up_demo
from as2bus.cli.procs import Child, echo, exit_reason
from as2bus.cli.stack_nats import (
    memory_limit_env,
    nats_passwords,
    password_env,
    user_url,
    write_nats_conf,
)
from as2bus.cli.stack_setup import (
    DEFAULT_BASE_PORT,
    PRIVATE_UMASK,
    EndpointTls,
    Service,
    banner,
    endpoint_tls,
    find_nats_server,
    installed,
    nats_ready,
    port_taken,
    prepare_data_dir,
    secret_file,
    service_ready,
    wait_ready,
)

NATS_START_TIMEOUT = 15.0
SERVICE_START_TIMEOUT = 60.0  # a first start migrates the database
#: The ports' environment variables: `make run` passes no options, but its environment.
NATS_PORT_ENV, BASE_PORT_ENV = "AS2BUS_NATS_PORT", "AS2BUS_BASE_PORT"


class Stack:
    def __init__(self, data_dir: Path, nats_port: int, base_port: int) -> None:
        self.data = data_dir.resolve()
        self.nats_port, self.base_port = nats_port, base_port
        self.nats_url = f"nats://127.0.0.1:{nats_port}"
        self.services = installed()
        self.endpoint_tls: EndpointTls | None = None  # inbound-svc's own HTTPS (--tls-cert)
        self.children: list[Child] = []
        self.probes: dict[str, Callable[[], bool]] = {}  # each child's readiness
        self._lock_file: IO[str] | None = None
        self.width = max([len("nats"), *(len(s.name) for s in self.services)])

    def port_of(self, service: Service) -> int:
        return service.port - DEFAULT_BASE_PORT + self.base_port

    def _check_ports(self) -> None:
        wanted = [("NATS", self.nats_port, "--nats-port", NATS_PORT_ENV)]
        wanted += [(s.name, self.port_of(s), "--base-port", BASE_PORT_ENV) for s in self.services]
        for what, port, option, envvar in wanted:
            if port_taken(port):
                raise CliError(
                    f"port {port} (for {what}) is already in use — is another 'as2bus up' or "
                    f"nats-server running? Stop it, or choose another port with {option} "
                    f"(make run: {envvar}=PORT make run)."
                )

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str], probe: Callable[[], bool]
    ) -> Child:
        child = Child(name, argv, env, self.data / "logs" / f"{name}.log", self.width)
        child.start()
        self.children.append(child)
        self.probes[name] = probe
        return child

    def _lock(self) -> None:
        """One ``as2bus up`` per data directory (two would share one database and store)."""
        self.data.mkdir(parents=True, exist_ok=True)
        lock = (self.data / "up.lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise CliError(f"another 'as2bus up' is using {self.data}; stop it first") from None
        self._lock_file = lock

    def start(self, stopping: threading.Event) -> bool:
        """Start everything, each waited for in turn; False if interrupted meanwhile."""
        self._lock()
        self._check_ports()
        master_key, api_token = prepare_data_dir(self.data)
        self.api_token = api_token
        passwords = nats_passwords(self.data)
        binary = find_nats_server()
        argv = [str(binary), "-c", str(write_nats_conf(self.data)), "-js"]
        argv += ["-a", "127.0.0.1", "-p", str(self.nats_port), "-sd", str(self.data / "nats")]
        echo(f"starting nats-server on {self.nats_url} (a user per service, no anonymous client)")
        probe = functools.partial(nats_ready, self.nats_port)
        env = {**os.environ, **memory_limit_env(), **password_env(passwords)}
        nats = self._spawn("nats", argv, env, probe)
        if not wait_ready(nats, "nats-server", probe, stopping, NATS_START_TIMEOUT):
            return False
        for service in self.services:
            port = self.port_of(service)
            env = {
                **os.environ,
                "AS2BUS_NATS_URL": user_url(self.nats_url, service.name, passwords[service.name]),
                "AS2BUS_HTTP_PORT": str(port),
                "AS2BUS_API_TOKENS_DIR": str(self.data / "secrets" / "tokens"),
                "AS2BUS_MASTER_KEY": master_key,
                "AS2BUS_DATA_DIR": str(self.data),
                "PYTHONUNBUFFERED": "1",
            }
            if service.database:
                env["AS2BUS_DATABASE_URL"] = service.database.format(data=self.data)
            env.update(self._service_env(service))
            tls = self.endpoint_tls is not None and service.module == "as2bus.inbound"
            env.update(self.endpoint_tls.env() if self.endpoint_tls and tls else {})
            echo(f"starting {service.name} on {'https' if tls else 'http'}://127.0.0.1:{port}")
            probe = functools.partial(service_ready, port, tls=tls)
            argv = [sys.executable, "-m", service.module]
            child = self._spawn(service.name, argv, env, probe)
            if not wait_ready(child, service.name, probe, stopping, SERVICE_START_TIMEOUT):
                return False
        return True

    def _service_env(self, service: Service) -> dict[str, str]:
        """What one service needs beyond the common settings: the console, where the others
        are and the token it calls them with (it stays on the server); inbound-svc, leave to
        post async MDNs to loopback, where the demo's partner is (unless set otherwise)."""
        if service.module == "as2bus.inbound":
            name = "AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS"
            return {} if name in os.environ else {name: '["127.0.0.0/8", "::1/128"]'}
        if service.module != "as2bus.console":
            return {}
        urls = {s.module: f"http://127.0.0.1:{self.port_of(s)}" for s in self.services}
        return {
            "AS2BUS_CONSOLE_CONFIG_URL": urls.get("as2bus.config", ""),
            "AS2BUS_CONSOLE_CERT_URL": urls.get("as2bus.cert", ""),
            "AS2BUS_CONSOLE_TRACKLOG_URL": urls.get("as2bus.tracklog", ""),
            "AS2BUS_CONSOLE_OUTBOUND_URL": urls.get("as2bus.outbound", ""),
            "AS2BUS_CONSOLE_NOTIFY_URL": urls.get("as2bus.notify", ""),
            "AS2BUS_CONSOLE_BACKEND_TOKEN": self.api_token,
        }

    def console(self) -> str | None:
        """The console's address and its first admin (created on first start)."""
        found = next((s for s in self.services if s.module == "as2bus.console"), None)
        if found is None:
            return None
        url = f"http://127.0.0.1:{self.port_of(found)}"
        try:
            return first_admin(url, self.api_token, self.data / "secrets")
        except httpx.HTTPError as err:
            return f"the console's first admin could not be created: {err}"

    def demo(self) -> str | None:
        """Set up the loopback demo on an empty configuration; what to tell the user."""
        if self.endpoint_tls is not None:  # outbound-svc would have to trust it for 127.0.0.1
            return "No loopback demo with --tls-cert: it sends to http://127.0.0.1 (docs/tls.md)."
        urls = {s.module: f"http://127.0.0.1:{self.port_of(s)}" for s in self.services}
        needed = ("as2bus.config", "as2bus.cert", "as2bus.inbound", "as2bus.outbound")
        if not all(m in urls for m in needed):
            return None
        password_file = self.data / "secrets" / "demo-keystore-password"
        password = functools.partial(
            secret_file, password_file, functools.partial(secrets.token_urlsafe, 16)
        )
        config, cert = urls["as2bus.config"], urls["as2bus.cert"]
        try:
            created = set_up_demo(
                config, cert, urls["as2bus.inbound"] + "/as2", self.api_token, password
            )
        except httpx.HTTPError as err:
            return f"the loopback demo could not be set up: {err}"
        intro = "Loopback demo created" if created else "Loopback demo (if you kept it)"
        told = f"{intro}: {DEMO_FROM} sends to {DEMO_TO} through this gateway. Try:\n  {TRY_IT}\n"
        if created:
            return told + f"Its keystores' export password is in {password_file}.\n"
        # A demo an older as2bus made has no keystores: it gets them now.
        return told + keystores_told(config, cert, self.api_token, password, password_file)

    def watch(self, stopping: threading.Event) -> None:
        """Until a stop is requested, restart each child that dies, as the platform would: the
        others keep running, and the dead one starts again after its backoff (1 s, 2 s, 4 s...
        30 s at most; 1 s again once it had stayed up a minute). Called from the main thread:
        a child's PR_SET_PDEATHSIG watches the thread that started it."""
        due: dict[str, float] = {}  # dead child -> when it starts again
        coming_back: set[str] = set()  # restarted, not ready yet
        while not stopping.wait(0.2):
            for child in self.children:
                now, code = time.monotonic(), child.exit_code()
                if code is not None and child.name not in due:
                    delay = child.backoff.delay(now - child.started_at)
                    due[child.name] = now + delay
                    coming_back.discard(child.name)
                    echo(
                        f"{child.name} died ({exit_reason(code)}); restarting it in {delay:g} s "
                        f"(its log: {child.log_path})"
                    )
                elif code is not None and now >= due[child.name]:
                    del due[child.name]
                    child.start()
                    coming_back.add(child.name)
                elif code is None and child.name in coming_back and self.probes[child.name]():
                    coming_back.discard(child.name)
                    echo(f"{child.name} is ready again")

    def stop(self, hurry: threading.Event) -> None:
        """Services first (newest first), NATS last: SIGTERM, then SIGKILL after 10 s."""
        for child in reversed(self.children):
            if child.exit_code() is None:
                echo(f"stopping {child.name}")
            child.stop(hurry=hurry)
        self.children.clear()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None


#: Signals this close to the first are the same key press, forwarded (see ``up``).
SAME_PRESS_SECONDS = 0.5

DataDir = Annotated[
    Path,
    typer.Option(envvar="AS2BUS_DATA_DIR", help="Where data, secrets and logs are kept."),
]
NatsPort = Annotated[
    int, typer.Option(envvar=NATS_PORT_ENV, help="Port for NATS (JetStream) on 127.0.0.1.")
]
BasePort = Annotated[
    int,
    typer.Option(
        envvar=BASE_PORT_ENV,
        help="HTTP port of the configuration API (config-svc); the others keep their distance "
        "to it. By default: the AS2 endpoint (inbound-svc) 8080, the port below it; "
        "configuration (config-svc) 8081, certificates (cert-svc) 8082, sending "
        "(outbound-svc) 8083, TrackLog (tracklog-svc) 8084, console (console-svc) 8085, "
        "notifications (notify-svc) 8086.",
    ),
]


def up(
    data_dir: DataDir = Path("var"),
    nats_port: NatsPort = 4222,
    base_port: BasePort = DEFAULT_BASE_PORT,
    tls_cert: Annotated[
        Path | None,
        typer.Option(help="Serve the AS2 endpoint over HTTPS: this PEM certificate (and chain)."),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="The PEM private key (unencrypted) of --tls-cert.")
    ] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(help="PEM CA certificates trusted for partners' TLS client certificates."),
    ] = None,
    with_demo: Annotated[
        bool,
        typer.Option(
            "--demo/--no-demo",
            help="Create the loopback demo on a new data dir (and the keystores an older "
            "demo lacks).",
        ),
    ] = True,
) -> None:
    """Run the gateway locally: NATS and every installed service.

    A service (or nats-server) that dies is restarted, with a growing delay between quick
    deaths; the others keep running. Ctrl-C stops it all; the data (and the secrets it was
    stored with) is kept for the next run.
    """
    stack = Stack(data_dir, nats_port, base_port)
    stack.endpoint_tls = endpoint_tls(tls_cert, tls_key, tls_client_ca)
    # Every file up and its children create (databases, logs, NATS's store) is ours alone.
    os.umask(PRIVATE_UMASK)
    stopping, hurry = threading.Event(), threading.Event()
    first_signal_at: list[float] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # One Ctrl-C in a terminal can arrive twice within milliseconds: the terminal signals
        # the whole foreground group, and `uv run` (make run, ./as2bus) passes it on too.
        # Only a second press, a moment later, means "do not wait for a graceful stop".
        now = time.monotonic()
        if first_signal_at and now - first_signal_at[0] > SAME_PRESS_SECONDS:
            hurry.set()
        if not first_signal_at:
            first_signal_at.append(now)
        stopping.set()

    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, on_signal) for sig in handled}
    try:
        if stack.start(stopping):
            demo = stack.demo() if with_demo else None
            console = stack.console()
            tls = stack.endpoint_tls is not None
            echo(
                banner(stack.data, stack.nats_url, stack.services, stack.port_of, endpoint_tls=tls)
            )
            for told in (demo, console):
                if told is not None:
                    echo(told)
            stack.watch(stopping)
    finally:
        stack.stop(hurry)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    echo("as2bus stopped; data kept in " + str(stack.data))
