"""Probes leave no access-log line each; readiness says its changes once."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from as2bus.shared.logs import configure_logging
from as2bus.shared.web import Readiness, ops_router


def access_line(path: str, status: int = 200) -> None:
    # As uvicorn logs a request: client, method, path with query, HTTP version, status.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", path, "1.1", status
    )


def test_probe_requests_are_left_out_of_the_access_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As uvicorn's default logging leaves its loggers (a test before this one in the same
    # process may have run it so): handlers of their own, no propagation. configure_logging
    # brings their lines back to its one handler.
    for name in ("uvicorn", "uvicorn.access"):
        named = logging.getLogger(name)
        monkeypatch.setattr(named, "handlers", [logging.StreamHandler(sys.stdout)])
        monkeypatch.setattr(named, "propagate", False)
    configure_logging("test-svc", "INFO")
    configure_logging("test-svc", "INFO")  # configured twice: still one filter, same result
    try:
        for path in ("/readyz", "/healthz", "/metrics", "/readyz?verbose=1"):
            access_line(path, 503)
        access_line("/as2", 200)
        access_line("/readyz-not-a-probe", 200)
        err = capsys.readouterr().err
    finally:
        logging.getLogger().handlers.clear()
    assert "/readyz " not in err
    assert "/healthz" not in err
    assert "/metrics" not in err
    assert "verbose" not in err
    assert '"GET /as2 HTTP/1.1" 200' in err
    assert "/readyz-not-a-probe" in err
    assert len(logging.getLogger("uvicorn.access").filters) == 1


async def test_readiness_logs_each_change_once(caplog: pytest.LogCaptureFixture) -> None:
    nats_up = False

    async def nats() -> None:
        if not nats_up:
            raise ConnectionRefusedError(f"[Errno 111] refused at try {len(caplog.records)}")

    async def database() -> None:
        return None

    app = FastAPI()
    app.include_router(ops_router(Readiness("test-svc", {"database": database, "nats": nats})))
    caplog.set_level(logging.INFO, logger="as2bus.shared.web")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as http:
        for _ in range(3):  # starting: asked again and again, said once
            assert (await http.get("/readyz")).status_code == 503
        nats_up = True
        for _ in range(3):
            assert (await http.get("/readyz")).status_code == 200
        nats_up = False
        for _ in range(2):
            assert (await http.get("/readyz")).status_code == 503
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert said == [
        (
            "INFO",
            "not ready yet: nats failing: ConnectionRefusedError: [Errno 111] refused at try 0",
        ),
        ("INFO", "ready: database, nats"),
        (
            "WARNING",
            "not ready: nats failing: ConnectionRefusedError: [Errno 111] refused at try 2",
        ),
    ]


async def test_checks_passing_one_by_one_while_starting_are_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A service that listens before it has started (NATS, then its consumer) saw its failing
    checks change from three to one and logged "not ready" as a WARNING, never having been
    ready: the idle test of tracklog-svc caught it."""
    up: set[str] = set()

    def check(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if name not in up:
                raise RuntimeError(f"{name} has not started yet")

        return run

    readiness = Readiness("test-svc", {n: check(n) for n in ("nats", "consumer")})
    caplog.set_level(logging.INFO, logger="as2bus.shared.web")
    await readiness.evaluate()
    up.add("nats")
    await readiness.evaluate()
    up.add("consumer")
    await readiness.evaluate()
    up.discard("consumer")
    await readiness.evaluate()
    said = [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records]
    assert said == [
        ("INFO", "not ready yet"),
        ("INFO", "not ready yet"),
        ("INFO", "ready"),
        ("WARNING", "not ready"),
    ]
