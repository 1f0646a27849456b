"""The bench's stack (``bench.stack``) with a supervisor's hands: SIGKILL one of its processes,
a service, nats-server or the PostgreSQL server, and start it again on the same port and data,
as Kubernetes restarts a crashed container."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from as2bus.testing.infra import (
    CRASH_SAFE_PG_SETTINGS,
    LocalNats,
    LocalPostgres,
    _spawn,
    _unprivileged_account,
)
from bench.stack import Service, Stack
from chaos.scenarios import NATS, POSTGRES


class ChaosStack(Stack):
    pg_settings = CRASH_SAFE_PG_SETTINGS  # the server is killed: no commit may be lost

    def targets(self) -> list[str]:
        names = [s.name for s in self.services] + [NATS]
        return [*names, POSTGRES] if self.pg is not None else names

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def pid_of(self, target: str) -> int:
        if target == NATS:
            assert self.nats is not None
            return self.nats.proc.pid
        if target == POSTGRES:
            assert self.pg is not None
            return self.pg.proc.pid
        return self.service(target).pid

    def kill(self, target: str) -> None:
        """SIGKILL: no clean-up, no goodbye to its clients, as a crash or an OOM kill."""
        if target == NATS:
            assert isinstance(self.nats, LocalNats)
            self.nats.proc.kill()
            self.nats.proc.wait()
        elif target == POSTGRES:
            assert isinstance(self.pg, LocalPostgres)
            self.pg.proc.kill()  # the postmaster; its backends notice and exit on their own
            self.pg.proc.wait()
        else:
            self.service(target).kill()

    async def restart(self, target: str, timeout: float = 90.0) -> None:
        """Start it again on the same port and data. nats-server and postgres are spawned from
        this (the main) thread: they die with the thread that forked them (PR_SET_PDEATHSIG)."""
        if target == NATS:
            assert isinstance(self.nats, LocalNats)
            self.nats._launch()  # same port, same JetStream store; ready within a second
        elif target == POSTGRES:
            await self._restart_postgres(timeout)
        else:
            await asyncio.to_thread(self.service(target).start, timeout)

    async def _restart_postgres(self, timeout: float) -> None:
        pg = self.pg
        assert isinstance(pg, LocalPostgres)
        argv: list[object] = [pg.bindir / "postgres", "-D", pg.workdir / "data"]
        argv += ["-p", pg.port, "-h", pg.host]
        argv += ["-k", pg.workdir / "sock"]
        argv += [arg for setting in pg.settings for arg in ("-c", setting)]
        account = _unprivileged_account() if os.geteuid() == 0 else None
        deadline = time.monotonic() + timeout
        while True:
            # Until the old backends have gone, the new postmaster refuses to start
            # ("pre-existing shared memory block is still in use") and exits: try again.
            pg.proc = _spawn(argv, pg.workdir / "pg.log", signal.SIGQUIT, account)
            while pg.proc.poll() is None and time.monotonic() < deadline:
                if await asyncio.to_thread(pg._accepting):
                    return
                await asyncio.sleep(0.2)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"postgres not back after {timeout} s; see {pg.workdir}")
            await asyncio.sleep(0.5)
