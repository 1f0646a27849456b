"""A service started while NATS is away (a pod scheduled before the NATS pods) answers at once:
alive, not ready, its readiness and its API saying what it waits for; a stop (Kubernetes'
SIGTERM, Ctrl-C) ends it within a moment; once NATS is up it is ready. NATS refusing its
credentials stops it, with one sentence. config-svc, a real process, stands for every service:
they all start through shared/entry.py."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from as2bus.shared.crypto import generate_master_key
from as2bus.testing.infra import LocalNats
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import until_sync

from .conftest import TOKEN

#: Long enough for a cold interpreter to import the service on a busy machine.
IMPORT_SECONDS = 30.0


def _config_svc(nats_url: str, tmp_path: Path) -> ServiceProcess:
    env = {
        "AS2BUS_NATS_URL": nats_url,
        "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'config.db'}",
        "AS2BUS_API_TOKEN": TOKEN,
        "AS2BUS_MASTER_KEY": generate_master_key(),
    }
    return ServiceProcess("as2bus.config", env, tmp_path / "config.log").launch()


def _get(proc: ServiceProcess, path: str) -> httpx.Response | None:
    """None while nothing listens."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        return httpx.get(f"{proc.base_url}{path}", headers=headers, timeout=2)
    except httpx.TransportError:
        return None


def _waiting_for_nats(proc: ServiceProcess) -> httpx.Response | None:
    """The /readyz answer once it names an attempt to reach NATS."""
    ready = _get(proc, "/readyz")
    return ready if ready is not None and "waiting for NATS" in ready.text else None


def _waits(proc: ServiceProcess) -> httpx.Response:
    ready = until_sync(
        lambda: _waiting_for_nats(proc), what="/readyz naming the NATS wait", timeout=IMPORT_SECONDS
    )
    assert ready is not None
    return ready


def test_started_before_nats_it_answers_says_what_it_waits_for_and_is_ready_once_nats_is(
    restartable_nats: LocalNats, tmp_path: Path
) -> None:
    nats = restartable_nats
    nats.down()
    proc = _config_svc(nats.url, tmp_path)
    try:
        ready = _waits(proc)
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["database"] == "ok"
        waiting = f"starting: waiting for NATS at {nats.host}:{nats.port} (attempt "
        assert body["checks"]["nats"].startswith(f"failing: ConnectionError: {waiting}")
        assert "ConnectionRefusedError" in body["checks"]["nats"]

        alive = _get(proc, "/healthz")
        assert alive is not None
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})

        api = _get(proc, "/api/v1/partners")
        assert api is not None
        assert api.status_code == 503
        assert api.headers["Retry-After"] == "5"
        assert api.json()["detail"].startswith(waiting)
        assert "ConnectionRefusedError" in api.json()["detail"]

        nats.up()
        proc.wait_ready(timeout=30)
        partners = _get(proc, "/api/v1/partners")
        assert partners is not None
        assert (partners.status_code, partners.json()) == (200, [])
    finally:
        code = proc.stop()
    assert code in (0, -signal.SIGTERM), proc.log()
    assert "Traceback" not in proc.log()


@pytest.mark.parametrize(
    ("sig", "clean"),
    [
        (signal.SIGTERM, (0, -signal.SIGTERM)),  # uvicorn re-raises it once it has stopped
        (signal.SIGINT, (0,)),  # Ctrl-C, as `as2bus up` and a terminal send it
    ],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_stop_while_it_waits_for_nats_ends_it_at_once(
    sig: signal.Signals, clean: tuple[int, ...], restartable_nats: LocalNats, tmp_path: Path
) -> None:
    restartable_nats.down()
    proc = _config_svc(restartable_nats.url, tmp_path)
    try:
        _waits(proc)
        asked = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(timeout=5)
        took = time.monotonic() - asked
    except subprocess.TimeoutExpired:
        pytest.fail(f"{sig.name} did not stop it within 5 s:\n{proc.log()}")
    finally:
        proc.kill()
    assert code in clean, proc.log()
    assert took < 3, proc.log()
    assert "Shutting down" in proc.log()
    assert "Traceback" not in proc.log()


def test_nats_refusing_its_credentials_stops_it_with_one_sentence(tmp_path: Path) -> None:
    nats = LocalNats(config="authorization { users = [{user: config-svc, password: right}] }")
    try:
        url = f"nats://config-svc:wrong@{nats.host}:{nats.port}"
        proc = _config_svc(url, tmp_path)
        try:
            code = proc.wait(timeout=IMPORT_SECONDS)
        finally:
            proc.kill()
    finally:
        nats.stop()
    assert code == 3, proc.log()
    said = [line for line in proc.log().splitlines() if "ERROR" in line]
    assert len(said) == 1, proc.log()
    assert said[0].endswith(
        "as2bus.starting: could not start: Error: nats: 'Authorization Violation'; stopping"
    )
    assert "Traceback" not in proc.log()
