"""The stack under test: nats-server, every service as its own process, SQLite or PostgreSQL,
any number of inbound and outbound replicas, and the loopback demo partnership DEMO-A → DEMO-B.

Reuses what the tests use (``as2bus.testing``: local nats-server and PostgreSQL,
``ServiceProcess``) and what ``as2bus up`` uses (``set_up_demo``), so the bench runs the code
users run.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from as2bus.cli.demo import DEMO_FROM, DEMO_TO, set_up_demo
from as2bus.cli.stack_nats import NATS_MEMORY_LIMIT
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.infra import LocalNats, LocalPostgres
from as2bus.testing.services import ServiceProcess
from bench.proxy import RoundRobinProxy

STATION, PARTNER = DEMO_FROM, DEMO_TO
START_TIMEOUT = 90.0  # a first start migrates; other test suites may share the 2 cores
GIB = 1 << 30


def stop_on_sigterm() -> None:
    """Make SIGTERM (``timeout``, ``kill``, a CI job cancelled) stop the run as Ctrl-C does:
    the stack's processes stopped and its scratch directories, a few GB in /dev/shm after the
    large documents, removed. By default Python dies on it at once and leaves them."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


class Service(ServiceProcess):
    """A service process whose pid the bench can read memory figures of."""

    def __init__(self, name: str, module: str, env: dict[str, str], log_path: Path) -> None:
        super().__init__(module, env, log_path)
        self.name = name

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def metric(self, name: str) -> float:
        """The sum of a Prometheus metric over its labels (0 when absent or unreachable)."""
        try:
            text = httpx.get(f"{self.base_url}/metrics", timeout=5).text
        except httpx.HTTPError:
            return 0.0
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith((name + "{", name + " "))
        )


class Stack:
    #: The PostgreSQL server's settings (None: the tests' fast, throw-away ones).
    pg_settings: Sequence[str] | None = None

    def __init__(
        self,
        *,
        postgres: bool = False,
        inbound: int = 1,
        outbound: int = 1,
        env: dict[str, str] | None = None,
        keep: bool = False,
        proxy: bool = False,
    ) -> None:
        """``proxy``: the round-robin proxy in front of a single inbound replica too (it is
        there whenever there are several), so that stacks of any size compare."""
        self.use_postgres, self.n_inbound, self.n_outbound = postgres, inbound, outbound
        self.use_proxy = proxy or inbound > 1
        self.workdir = Path(tempfile.mkdtemp(prefix="as2bus-bench-"))
        self.keep = keep
        self.token = secrets.token_urlsafe(24)
        self.master_key = generate_master_key()
        self.extra_env = env or {}
        self.nats: LocalNats | None = None
        self.pg: LocalPostgres | None = None
        self.proxy: RoundRobinProxy | None = None
        self.services: list[Service] = []
        self.inbound_url = ""
        self._db_urls: dict[str, str] = {}

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.nats = LocalNats(memory_limit=NATS_MEMORY_LIMIT)
        if self.use_postgres:
            self.pg = LocalPostgres(self.pg_settings)
        config = self._spawn("config-svc", "as2bus.config")
        cert = self._spawn("cert-svc", "as2bus.cert")
        self._start_all([config, cert])
        # Inbound ports must be known before the URL the outbound replicas ask async MDNs at.
        inbound = [
            self._spawn(f"inbound-svc-{i}", "as2bus.inbound", migrate=i == 0)
            for i in range(self.n_inbound)
        ]
        if self.use_proxy:
            self.proxy = RoundRobinProxy([s.port for s in inbound]).start()
            self.inbound_url = f"http://127.0.0.1:{self.proxy.port}/as2"
        else:
            self.inbound_url = f"{inbound[0].base_url}/as2"
        outbound = [
            self._spawn(f"outbound-svc-{i}", "as2bus.outbound", migrate=i == 0)
            for i in range(self.n_outbound)
        ]
        tracklog = self._spawn("tracklog-svc", "as2bus.tracklog")
        # The first replica of each service migrates its database; the others start after it
        # with migrations off, as a Kubernetes Job would have done them (no racing replicas).
        self._start_all([inbound[0], outbound[0], tracklog])
        self._start_all([*inbound[1:], *outbound[1:]])
        set_up_demo(config.base_url, cert.base_url, self.inbound_url, self.token)

    def _database_url(self, service: str) -> str:
        if self.pg is None:
            return f"sqlite+aiosqlite:///{self.workdir / service}.db"
        name = f"bench_{service.replace('-', '_')}"
        self.pg.create_database(name)
        return self.pg.database_url(name)

    def _spawn(self, name: str, module: str, *, migrate: bool = True) -> Service:
        assert self.nats is not None
        database = name.rsplit("-", 1)[0] if name[-1].isdigit() else name  # one per service
        if database not in self._db_urls:
            self._db_urls[database] = self._database_url(database)
        env = {
            "AS2BUS_NATS_URL": self.nats.url,
            "AS2BUS_DATABASE_URL": self._db_urls[database],
            "AS2BUS_AUTO_MIGRATE": str(migrate).lower(),
            "AS2BUS_API_TOKEN": self.token,
            "AS2BUS_MASTER_KEY": self.master_key,
            "AS2BUS_RELAY_IDLE_SECONDS": "0.2",
            # Room for the large-document runs (defaults: 200 MiB body, 500 MiB document).
            "AS2BUS_INBOUND_MAX_BODY_BYTES": str(2 * GIB),
            "AS2BUS_OUTBOUND_MAX_DOCUMENT_BYTES": str(2 * GIB),
            "AS2BUS_OUTBOUND_HTTP_TIMEOUT_SECONDS": "1800",
            "AS2BUS_OUTBOUND_BACKOFF_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        if module == "as2bus.outbound":
            env["AS2BUS_OUTBOUND_ASYNC_MDN_URL"] = self.inbound_url
        if module == "as2bus.inbound":  # the demo partners' MDNs go to loopback (or the proxy)
            env.setdefault("AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS", '["127.0.0.0/8"]')
        service = Service(name, module, env, self.workdir / f"{name}.log")
        self.services.append(service)
        return service

    @staticmethod
    def _start_all(services: list[Service]) -> None:
        with ThreadPoolExecutor(max(1, len(services))) as pool:
            for future in [pool.submit(s.start, START_TIMEOUT) for s in services]:
                future.result()

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        if self.proxy is not None:
            self.proxy.stop()
        if self.pg is not None:
            self.pg.stop()
        if self.nats is not None:
            self.nats.stop()
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- helpers --------------------------------------------------------------------------

    @property
    def nats_url(self) -> str:
        assert self.nats is not None
        return self.nats.url

    def named(self, prefix: str) -> list[Service]:
        return [s for s in self.services if s.name.startswith(prefix)]

    def config_api(self) -> httpx.Client:
        config = self.named("config-svc")[0]
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=config.base_url, headers=headers, timeout=30)

    def update_partner(self, as2_id: str, **changes: Any) -> None:
        """Change the partner's settings through config-svc's API (as ``as2bus partner``)."""
        with self.config_api() as api:
            partner = next(p for p in api.get("/api/v1/partners").json() if p["as2_id"] == as2_id)
            api.patch(f"/api/v1/partners/{partner['id']}", json=changes).raise_for_status()

    def describe(self) -> str:
        db = f"PostgreSQL {self.pg.version}" if self.pg else "SQLite"
        nats = self.nats.version if self.nats else "?"
        return (
            f"nats-server {nats}, {db}, {self.n_inbound} inbound + {self.n_outbound} outbound "
            "replica(s), config-svc, cert-svc, tracklog-svc"
        )
