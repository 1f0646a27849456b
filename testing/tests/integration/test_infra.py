"""The integration-test infrastructure itself: real servers, isolation, no leftover processes."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import nats
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from as2bus.testing.infra import LocalNats, LocalPostgres, PostgresServer, wipe_jetstream


async def test_jetstream_deduplicates_by_msg_id(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="INFRA", subjects=["infra.>"])
        first = await js.publish("infra.a", b"x", headers={"Nats-Msg-Id": "m-1"})
        again = await js.publish("infra.a", b"x", headers={"Nats-Msg-Id": "m-1"})
        assert (first.duplicate, again.duplicate) == (None, True)
        assert (await js.stream_info("INFRA")).state.messages == 1
    finally:
        await nc.close()


async def test_jetstream_is_wiped(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        # Empty although the test above left a stream behind: the fixture wiped it.
        assert await js.streams_info() == []
        await js.add_stream(name="LEFTOVER", subjects=["left.>"])
        await js.create_key_value(bucket="leftover")
        await js.create_object_store(bucket="leftover")
        assert len(await js.streams_info()) == 3
        await wipe_jetstream(nats_url)
        assert await js.streams_info() == []
    finally:
        await nc.close()


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_postgres_url_is_a_fresh_database(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+asyncpg://")
    conn = await asyncpg.connect(_asyncpg_dsn(postgres_url))
    try:
        assert "PostgreSQL" in await conn.fetchval("select version()")
        assert await conn.fetchval("select current_database()") == make_url(postgres_url).database
        assert (
            await conn.fetchval("select count(*) from pg_tables where schemaname = 'public'") == 0
        )
    finally:
        await conn.close()


async def test_drop_database_forces_out_open_connections(postgres_server: PostgresServer) -> None:
    postgres_server.create_database("t_infra_drop")
    conn = await asyncpg.connect(_asyncpg_dsn(postgres_server.database_url("t_infra_drop")))
    try:
        postgres_server.drop_database("t_infra_drop")  # would fail without WITH (FORCE)
    finally:
        conn.terminate()
    admin = await asyncpg.connect(postgres_server.admin_dsn)
    try:
        sql = "select count(*) from pg_database where datname = 't_infra_drop'"
        assert await admin.fetchval(sql) == 0
    finally:
        await admin.close()


async def test_database_url_covers_both_databases(
    database_url: str, request: pytest.FixtureRequest
) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("create table item (id integer primary key, name text)"))
            await conn.execute(text("insert into item values (1, 'widget')"))
            assert (await conn.execute(text("select name from item"))).scalar_one() == "widget"
    finally:
        await engine.dispose()
    assert engine.dialect.name == request.node.callspec.params["database_url"]


def _alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (exited, not yet reaped by init) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # the latter: reaped while being read
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _family(pid: int) -> list[int]:
    """`pid` and its direct children (the postmaster's backends)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
    return [pid, *children]


def _wait_gone(pids: list[int], timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        for pid in pids:  # reap the ones adopted by _adopting_orphans()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        alive = [p for p in pids if _alive(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)  # a polling loop (that reaps as it goes): until they are gone


@contextlib.contextmanager
def _adopting_orphans() -> Iterator[None]:
    """PR_SET_CHILD_SUBREAPER: orphaned descendants re-parent to us, not to PID 1, so we can
    reap them; a container's PID 1 may never reap, leaving zombies in `pgrep` after the run."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl(36, 1)  # 36 == PR_SET_CHILD_SUBREAPER
    try:
        yield
    finally:
        prctl(36, 0)


@pytest.mark.parametrize("server_class", [LocalNats, LocalPostgres])
def test_stop_leaves_no_process(server_class: type[LocalNats | LocalPostgres]) -> None:
    server = server_class()
    try:
        # Only the server itself must be alive here: a PostgreSQL child (an autovacuum
        # worker, say) may finish on its own between the listing and the check.
        pids = _family(server.pid)
        assert _alive(server.pid)
    finally:
        server.stop()  # even when the assertion fails: no server left for a later test's GC
    assert _wait_gone(pids, timeout=0) == []
    assert not server.workdir.exists()


_ORPHAN = """
import sys, time
from as2bus.testing.infra import {cls}
server = {cls}()
print(server.pid, server.workdir, flush=True)
time.sleep(60)  # a test run that goes on, until the test kills it
"""


@pytest.mark.parametrize("server_class", ["LocalNats", "LocalPostgres"])
def test_server_dies_with_a_killed_test_run(server_class: str) -> None:
    """PR_SET_PDEATHSIG: a SIGKILLed pytest (no teardown at all) must not leave servers behind."""
    code = _ORPHAN.format(cls=server_class)
    with _adopting_orphans():
        argv = [sys.executable, "-c", code]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as run:
            assert run.stdout is not None
            pid, workdir = run.stdout.readline().split()
            pids = _family(int(pid))
            os.kill(run.pid, signal.SIGKILL)
        survivors = _wait_gone(pids)
    shutil.rmtree(workdir, ignore_errors=True)  # the killed run never got to clean up
    assert survivors == []


def test_nats_server_gets_the_memory_limit_it_is_given() -> None:
    server = LocalNats(memory_limit="200MiB")
    try:
        environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
        assert b"GOMEMLIMIT=200MiB" in environ
    finally:
        server.stop()
