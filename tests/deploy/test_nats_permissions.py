"""The NATS configuration of deploy/k8s, run by a real nats-server: each service connects as
its own user, only cert-svc answers key-material requests and only inbound/outbound may ask,
only config-svc answers partner-credential requests and only outbound may ask."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client

from as2bus.contracts.credentials import CREDENTIALS_SUBJECT
from as2bus.shared.bus import inbox_prefix
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.infra import find_nats_server, free_port
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import until

from .manifests import documents, nats_conf, render

SERVICE_USERS = [
    "config-svc",
    "cert-svc",
    "inbound-svc",
    "outbound-svc",
    "tracklog-svc",
    "notify-svc",
]
USERS = [*SERVICE_USERS, "console-svc", "app", "admin", "sys"]
KEY_MATERIAL = "as2.rpc.cert.key-material"


def standalone(conf: str, store: Path) -> str:
    """The shipped nats.conf as one node: no cluster block (its routes name pods), the store and
    the pid file in a temporary directory. Users, accounts and permissions stay as shipped."""
    conf, routes = re.subn(r"\ncluster \{.*?\n\}\n", "\n", conf, flags=re.DOTALL)
    conf, stores = re.subn(r"store_dir: \S+", f"store_dir: {store}", conf)
    conf, pids = re.subn(r"pid_file: \S+", f"pid_file: {store}.pid", conf)
    assert (routes, stores, pids) == (1, 1, 1), "nats.conf changed shape: update this test"
    return conf


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """nats-server, JetStream on, with the prod overlay's nats.conf (see ``standalone``)."""
    work = tmp_path_factory.mktemp("nats")
    conf = work / "nats.conf"
    conf.write_text(standalone(nats_conf(documents(render("prod"))), work / "js"))
    binary = find_nats_server()
    assert binary is not None
    port = free_port()
    env = {**os.environ, "POD_NAME": "nats-0", "JS_MAX_FILE_STORE": "1G"}
    env |= {f"{u.upper().replace('-', '_')}_PASSWORD": f"pw-{u}" for u in USERS}
    argv = [str(binary), "-c", str(conf), "-a", "127.0.0.1", "-p", str(port), "-m", "0"]
    log = (work / "nats.log").open("w")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            assert proc.poll() is None, (work / "nats.log").read_text()
            assert time.monotonic() < deadline, (work / "nats.log").read_text()
            time.sleep(0.05)  # a polling loop: until nats-server listens
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Session:
    def __init__(self, client: Client, errors: list[str]) -> None:
        self.client, self.errors = client, errors


@pytest.fixture
async def connect(server: int) -> AsyncIterator[Any]:
    opened: list[Client] = []

    async def as_user(user: str) -> Session:
        errors: list[str] = []

        async def on_error(err: Exception) -> None:
            errors.append(str(err))

        url = f"nats://{user}:pw-{user}@127.0.0.1:{server}"
        client = await nats.connect(
            url,
            inbox_prefix=inbox_prefix(url),  # as every service connects
            error_cb=on_error,
            allow_reconnect=False,
            connect_timeout=2,
        )
        opened.append(client)
        return Session(client, errors)

    yield as_user
    for client in opened:
        await client.close()


async def _responder(session: Session, subject: str) -> None:
    async def answer(msg: Any) -> None:
        await msg.respond(b"ok")

    await session.client.subscribe(subject, cb=answer)
    await session.client.flush()


async def refused_subscriptions(session: Session, count: int) -> list[str]:
    """The server's refusals of ``session``'s subscriptions, once there are ``count``.
    They come asynchronously (an -ERR after the SUB, delivered to the error callback)."""
    await session.client.flush()

    def refused() -> list[str]:
        found = [e for e in session.errors if "permissions violation for subscription" in e.lower()]
        return found if len(found) >= count else []

    return await until(refused, what=f"{count} refused subscription(s)", timeout=5)


async def test_only_inbound_and_outbound_get_key_material_and_only_from_cert_svc(
    connect: Any,
) -> None:
    await _responder(await connect("cert-svc"), KEY_MATERIAL)
    for user in ("inbound-svc", "outbound-svc"):
        reply = await (await connect(user)).client.request(KEY_MATERIAL, b"{}", timeout=2)
        assert reply.data == b"ok", user
    for user in ("tracklog-svc", "config-svc", "app"):
        asker = await connect(user)
        with pytest.raises(nats.errors.TimeoutError):
            await asker.client.request(KEY_MATERIAL, b"{}", timeout=0.5)
        assert any("permissions violation for publish" in e.lower() for e in asker.errors), user
    impostor = await connect("tracklog-svc")
    await impostor.client.subscribe(KEY_MATERIAL)
    await refused_subscriptions(impostor, 1)


async def test_only_outbound_asks_for_partner_credentials_and_only_config_svc_answers(
    connect: Any,
) -> None:
    await _responder(await connect("config-svc"), CREDENTIALS_SUBJECT)
    reply = await (await connect("outbound-svc")).client.request(CREDENTIALS_SUBJECT, b"{}", 2)
    assert reply.data == b"ok"
    for user in ("inbound-svc", "tracklog-svc", "app"):
        asker = await connect(user)
        with pytest.raises(nats.errors.TimeoutError):
            await asker.client.request(CREDENTIALS_SUBJECT, b"{}", timeout=0.5)
        assert asker.errors, user
    impostor = await connect("cert-svc")
    await impostor.client.subscribe(CREDENTIALS_SUBJECT)
    await refused_subscriptions(impostor, 1)


async def test_replies_reach_only_the_asker(connect: Any) -> None:
    """Each user may read its own reply subjects only: a key-material reply to inbound-svc
    cannot be read by any other service, nor by everyone through the default prefix."""
    await _responder(await connect("cert-svc"), KEY_MATERIAL)
    inbound = await connect("inbound-svc")
    assert inbound.client._inbox_prefix == bytearray(b"_INBOX.inbound-svc")
    assert (await inbound.client.request(KEY_MATERIAL, b"{}", timeout=2)).data == b"ok"
    for user in ("tracklog-svc", "config-svc", "outbound-svc", "app"):
        snoop = await connect(user)
        for subject in ("_INBOX.inbound-svc.>", "_INBOX.>", ">"):
            await snoop.client.subscribe(subject)
        assert len(await refused_subscriptions(snoop, 3)) == 3, (user, snoop.errors)


async def test_a_misspelt_command_subject_times_out_and_the_reason_goes_to_the_error_callback(
    connect: Any,
) -> None:
    """What docs/integrating.md tells an outside system: the server drops a publish to a
    subject its user may not publish to, the JetStream publish waits out its timeout, and only
    the connection's error callback hears why."""
    app = await connect("app")
    js = app.client.jetstream()
    with pytest.raises(nats.errors.TimeoutError):
        await js.publish("as2.cmd.sned", b"{}", timeout=1)
    found = await until(
        lambda: [e for e in app.errors if "permissions violation for publish" in e.lower()],
        what="the refused publish",
        timeout=5,
    )
    assert '"as2.cmd.sned"' in found[0]


def test_the_reply_prefix_names_the_user_but_never_a_token() -> None:
    assert inbox_prefix("nats://outbound-svc:secret@nats:4222") == "_INBOX.outbound-svc"
    assert inbox_prefix("nats://a:b@n1:4222,nats://a:b@n2:4222") == "_INBOX.a"
    assert inbox_prefix("nats://s3cr3t-token@nats:4222") == "_INBOX"  # a token, not a user
    assert inbox_prefix("nats://127.0.0.1:4222") == "_INBOX"
    assert inbox_prefix("nats://we.ird:pw@nats:4222") == "_INBOX"  # not a subject token


def _handshake(port: int, user: str, password: str) -> bytes:
    """CONNECT and PING over a plain socket: what the server answers (PONG or -ERR)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.recv(4096)  # INFO
        connect = json.dumps({"user": user, "pass": password, "verbose": False})
        sock.sendall(f"CONNECT {connect}\r\nPING\r\n".encode())
        return sock.recv(4096)


def test_a_wrong_password_is_refused(server: int) -> None:
    assert _handshake(server, "tracklog-svc", "pw-tracklog-svc").startswith(b"PONG")
    assert b"Authorization Violation" in _handshake(server, "tracklog-svc", "wrong")


def test_the_conf_file_is_what_the_overlays_ship() -> None:
    source = Path(__file__).resolve().parents[2] / "deploy/k8s/base/nats/nats.conf"
    for overlay in ("dev", "prod"):
        assert nats_conf(documents(render(overlay))) == source.read_text()


def test_every_service_runs_under_its_own_nats_user(
    server: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The real services, each connected as its own user, declare the streams, the config
    bucket and the documents store, subscribe, and get ready, with no permission refused."""
    work = tmp_path_factory.mktemp("services")
    common = {
        "AS2BUS_API_TOKEN": "deploy-test-token",
        "AS2BUS_MASTER_KEY": generate_master_key(),
        "AS2BUS_EVENTS_REPLICAS": "1",  # one node here
    }
    started: list[ServiceProcess] = []
    try:
        for service in ("config", "cert", "inbound", "outbound", "tracklog", "notify"):
            user = f"{service}-svc"
            env = common | {
                "AS2BUS_NATS_URL": f"nats://{user}:pw-{user}@127.0.0.1:{server}",
                "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{work / service}.db",
            }
            started.append(ServiceProcess(f"as2bus.{service}", env, work / f"{service}.log"))
            started[-1].start()
        for proc in started:
            assert httpx.get(f"{proc.base_url}/readyz", timeout=5).status_code == 200
            assert "permissions violation" not in proc.log().lower(), proc.log()
    finally:
        for proc in started:
            proc.stop()
