"""Partners that misbehave (docs/reliability.md, "Misbehaving partners"), against the real
outbound-svc and tracklog-svc on NATS: a partner that answers 500, one that never answers, one
that answers 200 with garbage, a signed MDN with a wrong MIC, an MDN for another message, one
that breaks the connection off in the middle of its answer, a slow one, one that redirects, and
three whose TLS certificate we do not trust (expired, for another host, self-signed).

The stack starts once for the module and everything is sent in one run: each partner gets its
message at once, a healthy partner (over HTTP and over HTTPS) too, and the healthy one gets a
second message while the hanging partner holds its first attempt. Each test then reads what
became of one partner's message: the status and the reason tracklog-svc shows, the attempts
the partner saw (each with the same Message-ID) and the backoff between them.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import re
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from as2bus import as2
from as2bus.cert import x509
from as2bus.contracts.send import send_document
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.infra import NatsServer, free_port, run_sync, wipe_jetstream
from as2bus.testing.services import ServiceProcess
from as2bus.testing.tls import Pair, PrivateCa, write_pair
from as2bus.testing.waiting import until, until_sync

from .conftest import client, start, stop

EDI = b"ISA*00*          *00*          *ZZ*MYCO~\r\nST*850*0001~\r\nSE*2*0001~\r\n"
MAX_ATTEMPTS = 3
BACKOFF = 0.3  # seconds before the 2nd attempt; 0.6 before the 3rd
TIMEOUT = 2.5  # AS2BUS_OUTBOUND_HTTP_TIMEOUT_SECONDS
SLOW = 0.6  # how long the slow partner takes to answer: well within the timeout
ANOTHER = "<another-message@partner.example>"
#: The partners on the plain HTTP server, each named after what it does.
ON_HTTP = ("healthy", "slow", "error500", "garbage", "wrong_mic", "another_message", "redirect")
#: The partners on raw sockets: one that never answers, one that breaks its answer off, and
#: three TLS endpoints whose certificate we do not trust.
ON_SOCKETS = ("hang", "cut", "tls_expired", "tls_mismatch", "tls_self_signed")


# --- certificates for the TLS endpoints ---------------------------------------------------


def server_tls(directory: Path, name: str, pair: Pair) -> ssl.SSLContext:
    key_file, cert_file = write_pair(directory, name, pair)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


# --- the partners ---------------------------------------------------------------------------


@dataclass
class Arrival:
    """One POST as the partner saw it."""

    at: float  # time.monotonic()
    message_id: str
    answered_at: float | None = None


def _partners_key() -> x509.OwnKey:
    return x509.generate_self_signed("partners", now=datetime.now(UTC))


@dataclass
class Partners:
    """Every partner's endpoint, on loopback; what each saw, by the partner's AS2 ID."""

    directory: Path
    ca: PrivateCa
    keys: x509.OwnKey = field(default_factory=_partners_key)  # the partners' (one for all)
    our_cert: bytes = b""  # our certificate, once cert-svc made it
    arrivals: dict[str, list[Arrival]] = field(default_factory=dict)
    moved_hits: int = 0  # POSTs to where the redirecting partner points: must stay 0
    hanging: int = 0  # the hanging partner's connections still open
    urls: dict[str, str] = field(default_factory=dict)
    servers: list[uvicorn.Server] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    sockets: list[asyncio.Server] = field(default_factory=list)
    connections: set[asyncio.StreamWriter] = field(default_factory=set)

    def arrived(self, partner: str, message_id: str) -> Arrival:
        arrival = Arrival(time.monotonic(), message_id)
        self.arrivals.setdefault(partner, []).append(arrival)
        return arrival

    # The HTTP partners (starlette): each reads our message with our codec when it answers one.

    def read(self, headers: dict[str, str], body: bytes) -> as2.ReceivedMessage:
        pair = as2.KeyPair(self.keys.key_pem.encode(), self.keys.cert.cert_pem.encode())
        us = as2.RemoteParty(as2_id="MYCO", verify_certs=[self.our_cert])
        them = as2.LocalParty(as2_id=headers["as2-to"], signing=pair, decryption=[pair])
        return as2.parse_message(headers, body, lookup=lambda _f, _t: (them, us))

    def mdn(self, received: as2.ReceivedMessage) -> Response:
        pair = as2.KeyPair(self.keys.key_pem.encode(), self.keys.cert.cert_pem.encode())
        mdn = as2.build_mdn(received, local=as2.LocalParty(as2_id=received.as2_to, signing=pair))
        return Response(mdn.body, headers=mdn.headers)

    async def answer(self, request: Request) -> Response:
        behaviour = request.path_params["behaviour"]
        body = await request.body()
        headers = dict(request.headers)
        if behaviour == "moved":
            self.moved_hits += 1
            return Response(b"a redirected POST must not come here", status_code=500)
        arrival = self.arrived(headers["as2-to"], headers["message-id"])
        try:
            return await self._answer(behaviour, headers, body)
        finally:
            arrival.answered_at = time.monotonic()

    async def _answer(self, behaviour: str, headers: dict[str, str], body: bytes) -> Response:
        if behaviour == "error500":
            return Response(b"internal server error", status_code=500)
        if behaviour == "garbage":
            return Response(b"<html><body>OK</body></html>", media_type="text/html")
        if behaviour == "redirect":
            return Response(status_code=308, headers={"Location": "/moved"})
        received = self.read(headers, body)  # the partner takes the message
        if behaviour == "slow":
            await asyncio.sleep(SLOW)  # a slow partner: simulated, not a wait of the test
        if behaviour == "wrong_mic":
            received = dataclasses.replace(received, mic=base64.b64encode(b"\0" * 32).decode())
        if behaviour == "another_message":
            received = dataclasses.replace(received, message_id=ANOTHER)
        return self.mdn(received)

    def serve_http(self, *, tls: str | None = None) -> int:
        """The HTTP partners on a new port; ``tls``: over HTTPS, with the certificate of
        that name (see ``server_tls``)."""
        port = free_port()
        app = Starlette(routes=[Route("/{behaviour}", self.answer, methods=["POST"])])
        options: dict[str, Any] = {}
        if tls is not None:
            options = {"ssl_keyfile": str(self.directory / f"{tls}.key"),
                       "ssl_certfile": str(self.directory / f"{tls}.pem")}  # fmt: skip
        config = uvicorn.Config(app, port=port, log_level="warning", lifespan="off", **options)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        self.servers.append(server)
        self.threads.append(thread)
        until_sync(lambda: server.started, what="a partner's web server", interval=0.01)
        return port

    # The raw-socket partners, on an event loop of their own.

    async def _request(self, reader: asyncio.StreamReader) -> dict[str, str]:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        headers = {}
        for line in head.split("\r\n")[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        await reader.readexactly(int(headers.get("content-length", "0")))
        return headers

    async def hang(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Takes the message and never answers: waits for us to give up and hang up."""
        self.connections.add(writer)
        try:
            headers = await self._request(reader)
            arrival = self.arrived(headers["as2-to"], headers["message-id"])
            self.hanging += 1
            await reader.read()  # until we close the connection (our timeout)
            self.hanging -= 1
            arrival.answered_at = time.monotonic()
        finally:
            self.connections.discard(writer)
            writer.close()

    async def cut(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Takes the message, starts a 200 answer and breaks the connection off."""
        self.connections.add(writer)
        try:
            headers = await self._request(reader)
            self.arrived(headers["as2-to"], headers["message-id"])
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: multipart/signed\r\n"
                b"Content-Length: 4096\r\n\r\n--the first bytes of an MDN"
            )
            await writer.drain()
            writer.transport.abort()
        finally:
            self.connections.discard(writer)

    def serve_sockets(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        self.threads.append(thread)
        ca = self.ca
        elsewhere = ca.issue(host="as2.other.example")
        tls = {
            "tls_expired": server_tls(self.directory, "expired", ca.issue(expired=True)),
            "tls_mismatch": server_tls(self.directory, "elsewhere", elsewhere),
            "tls_self_signed": server_tls(self.directory, "self", ca.issue(self_signed=True)),
        }

        async def listen() -> None:
            for name in ON_SOCKETS:
                handler = {"hang": self.hang, "cut": self.cut}.get(name, self.cut)
                server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls.get(name))
                self.sockets.append(server)
                port = server.sockets[0].getsockname()[1]
                scheme = "https" if name in tls else "http"
                self.urls[name] = f"{scheme}://127.0.0.1:{port}/as2"

        asyncio.run_coroutine_threadsafe(listen(), loop).result(timeout=10)

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        if self.loop is not None:

            async def close() -> None:
                for writer in list(self.connections):
                    writer.transport.abort()
                for server in self.sockets:
                    server.close()
                    await server.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        for thread in self.threads:
            thread.join(timeout=10)
        if self.loop is not None:
            self.loop.close()


def start_partners(directory: Path) -> Partners:
    """Every partner's server, and the CA outbound-svc is to trust in ``ca.pem``."""
    ca = PrivateCa()
    (directory / "ca.pem").write_bytes(ca.cert_pem)
    found = Partners(directory, ca)
    server_tls(directory, "good", ca.issue())
    http, https = found.serve_http(), found.serve_http(tls="good")
    for name in ON_HTTP:
        found.urls[name] = f"http://127.0.0.1:{http}/{name}"
    found.urls["healthy_tls"] = f"https://127.0.0.1:{https}/healthy"
    found.serve_sockets()
    return found


# --- the stack and the run --------------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one partner's message(s): tracklog-svc's rows (newest first) and the
    first one's detail with its timeline, and what the partner saw."""

    rows: list[dict[str, Any]]
    detail: dict[str, Any]
    arrivals: list[Arrival]

    @property
    def row(self) -> dict[str, Any]:
        return self.rows[-1]  # the first message sent

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [item for item in self.detail["timeline"] if item["event_type"] == kind]


@dataclass
class Run:
    partners: Partners
    outcomes: dict[str, Outcome]
    #: When the healthy partner's second message was sent: while the hanging partner held
    #: its first attempt (time.monotonic()).
    second_healthy_sent: float
    hang_open_then: int


async def set_up(config: ServiceProcess, cert: ServiceProcess, found: Partners) -> None:
    """MYCO, and every partner paired with it, with the partners' certificate."""
    async with client(config) as config_api, client(cert) as certs:
        station = await config_api.post("/api/v1/stations", json={"as2_id": "MYCO", "name": "Me"})
        ours = await certs.post("/api/v1/certificates/own", json={"alias": "myco"})
        assert ours.status_code == 201, ours.text
        found.our_cert = ours.json()["cert_pem"].encode()
        for name, url in found.urls.items():
            body = {"as2_id": name, "name": name, "as2_url": url, "mdn_mode": "sync"}
            created = await config_api.post("/api/v1/partners", json=body)
            assert created.status_code == 201, created.text
            upload = await certs.post(
                "/api/v1/certificates/partner",
                data={"alias": created.json()["as2_alias"]},
                files={"file": ("p.cer", found.keys.cert.cert_pem.encode())},
            )
            assert upload.status_code == 201, upload.text
            link = {"station_id": station.json()["id"], "partner_id": created.json()["id"]}
            assert (await config_api.post("/api/v1/partnerships", json=link)).status_code == 201


SETTLED = ("delivered", "delivered-with-warnings", "failed", "rejected")


async def settled(tracklog: ServiceProcess, partner: str, count: int = 1) -> list[dict[str, Any]]:
    async with client(tracklog) as api:

        async def rows() -> list[dict[str, Any]]:
            page = (await api.get("/api/v1/messages", params={"partner": partner})).json()
            items = page["items"]
            assert len(items) == count, items
            assert all(r["status"] in SETTLED for r in items), items
            return list(items)

        return await until(rows, what=f"{partner}'s messages settled", timeout=60, interval=0.2)


async def detail(tracklog: ServiceProcess, row: dict[str, Any]) -> dict[str, Any]:
    async with client(tracklog) as api:
        answer = await api.get(f"/api/v1/messages/{row['id']}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


async def send_everything(
    nats_url: str, config: ServiceProcess, cert: ServiceProcess, tracklog: ServiceProcess,
    found: Partners,
) -> Run:  # fmt: skip
    await set_up(config, cert, found)
    nc = await nats.connect(nats_url)
    try:
        for name in found.urls:
            await send_document(nc, EDI, station="MYCO", partner=name)
        # The healthy partner's second message goes while the hanging one holds its first
        # attempt (it answers nothing for TIMEOUT seconds).
        await until(lambda: found.hanging, what="the hanging partner holding our first POST")
        second_sent, hang_open = time.monotonic(), found.hanging
        await send_document(nc, EDI, station="MYCO", partner="healthy")
    finally:
        await nc.close()
    outcomes = {}
    for name in found.urls:
        rows = await settled(tracklog, name, count=2 if name == "healthy" else 1)
        arrivals = found.arrivals.get(name, [])
        outcomes[name] = Outcome(rows, await detail(tracklog, rows[-1]), arrivals)
    return Run(found, outcomes, second_sent, hang_open)


@pytest.fixture(scope="module")
def run(nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One stack (config-, cert-, outbound- and tracklog-svc) and one run for the module."""
    url = nats_server.url
    run_sync(lambda: wipe_jetstream(url))
    directory = tmp_path_factory.mktemp("misbehaving")
    key = generate_master_key()
    found = start_partners(directory)
    outbound_settings = {
        "AS2BUS_OUTBOUND_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "AS2BUS_OUTBOUND_BACKOFF_SECONDS": str(BACKOFF),
        "AS2BUS_OUTBOUND_HTTP_TIMEOUT_SECONDS": str(TIMEOUT),
        "AS2BUS_OUTBOUND_CA_BUNDLE": str(directory / "ca.pem"),
    }
    started: list[ServiceProcess] = []

    def service(module: str, **settings: str) -> ServiceProcess:
        name = module.rsplit(".", 1)[-1]
        proc = start(module, url, directory / f"{name}.db", key, directory, **settings)
        started.append(proc)
        return proc

    try:
        config, cert = service("as2bus.config"), service("as2bus.cert")
        tracklog = service("as2bus.tracklog")
        service("as2bus.outbound", **outbound_settings)
        yield run_sync(lambda: send_everything(url, config, cert, tracklog, found))
    finally:
        found.stop()
        for proc in reversed(started):
            stop(proc)


# --- what became of each ----------------------------------------------------------------------


def url(run: Run, partner: str) -> str:
    return run.partners.urls[partner]


def retried_with_backoff(outcome: Outcome) -> None:
    """MAX_ATTEMPTS attempts, each with the same Message-ID, the n-th retry BACKOFF * 2^(n-1)
    after the attempt before it ended (as scheduled, and as the partner saw them come)."""
    row = outcome.row
    assert row["attempts"] == MAX_ATTEMPTS
    assert [a.message_id for a in outcome.arrivals] == [row["message_id"]] * MAX_ATTEMPTS
    retries = outcome.events("MessageRetrying")
    assert [r["data"]["attempt"] for r in retries] == list(range(1, MAX_ATTEMPTS))
    for n, retry in enumerate(retries, start=1):
        scheduled = datetime.fromisoformat(retry["data"]["next_attempt_at"])
        wait = scheduled - datetime.fromisoformat(retry["occurred_at"])
        assert abs(wait.total_seconds() - BACKOFF * 2 ** (n - 1)) < 0.001, retry
    for n, (before, after) in enumerate(itertools.pairwise(outcome.arrivals), start=1):
        assert after.at - before.at >= BACKOFF * 2 ** (n - 1) - 0.05
    (failed,) = outcome.events("MessageFailed")
    assert failed["data"]["attempts"] == MAX_ATTEMPTS


def refused_at_once(outcome: Outcome) -> None:
    assert outcome.row["status"] == "failed"
    assert outcome.row["attempts"] == 1
    assert outcome.events("MessageRetrying") == []


def test_a_server_error_is_retried_with_backoff_then_given_up(run: Run) -> None:
    outcome = run.outcomes["error500"]
    assert outcome.row["verdict"] == (
        f"failed: HTTP 500 from {url(run, 'error500')}; gave up after 3 attempts"
    )
    assert outcome.row["error_code"] == "attempts-exhausted"
    retried_with_backoff(outcome)
    assert answered_with(outcome) == [500] * MAX_ATTEMPTS


def answered_with(outcome: Outcome) -> list[int | None]:
    """The HTTP status each failed attempt's event carries (None: no HTTP answer)."""
    ended = outcome.events("MessageRetrying") + outcome.events("MessageFailed")
    return [e["data"].get("http_status") for e in ended]


def test_a_partner_that_never_answers_times_out_each_attempt(run: Run) -> None:
    outcome = run.outcomes["hang"]
    assert outcome.row["verdict"] == (
        f"failed: timed out posting to {url(run, 'hang')}: no answer within {TIMEOUT:g} s; the "
        "partner may have the message: the retry carries the same Message-ID; gave up after 3 "
        "attempts"
    )
    retried_with_backoff(outcome)
    assert answered_with(outcome) == [None] * MAX_ATTEMPTS
    # Each attempt lasted our timeout (by our clock: the partner's, a thread of a busy test
    # process, may note the request late), and then we hung up.
    started = [datetime.fromisoformat(e["occurred_at"]) for e in outcome.events("AttemptStarted")]
    ended = [
        datetime.fromisoformat(e["occurred_at"])
        for e in outcome.events("MessageRetrying") + outcome.events("MessageFailed")
    ]
    assert len(started) == len(ended) == MAX_ATTEMPTS
    for began, end in zip(started, ended, strict=True):
        assert (end - began).total_seconds() >= TIMEOUT
    assert all(arrival.answered_at is not None for arrival in outcome.arrivals)


def test_a_200_with_garbage_is_sent_again_then_fails_saying_the_partner_may_have_it(
    run: Run,
) -> None:
    outcome = run.outcomes["garbage"]
    assert outcome.row["verdict"] == (
        "failed: the partner took the message each time (3 attempts, the same Message-ID) but "
        "its receipt could not be read, so it may have the document: ask the partner before "
        "sending it again (last answer: HTTP 200, not an MDN: text/html)"
    )
    assert outcome.row["error_code"] == "mdn-unreadable"
    retried_with_backoff(outcome)
    reasons = [r["data"]["reason"] for r in outcome.events("MessageRetrying")]
    assert reasons == [
        "the partner took the message but its receipt could not be read: HTTP 200, not an "
        "MDN: text/html; sent again with the same Message-ID",
        "the partner took the message but its receipt could not be read (2 times in a row): "
        "HTTP 200, not an MDN: text/html; sent again with the same Message-ID",
    ]
    assert len(outcome.events("MessageSent")) == MAX_ATTEMPTS  # each time it was taken


def test_a_signed_mdn_with_a_wrong_mic_fails_at_once(run: Run) -> None:
    outcome = run.outcomes["wrong_mic"]
    refused_at_once(outcome)
    assert outcome.row["error_code"] == "mic-mismatch"
    assert outcome.row["verdict"].startswith("failed: MIC mismatch: the partner computed AAAA")
    (mdn,) = outcome.events("MdnReceived")
    assert (mdn["data"]["signature_valid"], mdn["data"]["mic_matches"]) == (True, False)
    assert len(outcome.arrivals) == 1


def test_an_mdn_for_another_message_is_no_receipt_and_is_sent_again(run: Run) -> None:
    outcome = run.outcomes["another_message"]
    assert outcome.row["verdict"] == (
        "failed: the partner took the message each time (3 attempts, the same Message-ID) but "
        "its receipt could not be read, so it may have the document: ask the partner before "
        f"sending it again (last answer: the MDN is for another message, {ANOTHER})"
    )
    assert outcome.events("MdnReceived") == []  # not taken for a receipt of ours
    retried_with_backoff(outcome)


def test_an_answer_broken_off_after_taking_the_message_is_retried(run: Run) -> None:
    outcome = run.outcomes["cut"]
    assert outcome.row["verdict"] == (
        f"failed: {url(run, 'cut')} answered HTTP 200, then the connection broke off before "
        "the whole answer (RemoteProtocolError); the partner may have the message: the retry "
        "carries the same Message-ID; gave up after 3 attempts"
    )
    assert outcome.row["error_code"] == "attempts-exhausted"
    retried_with_backoff(outcome)
    assert answered_with(outcome) == [200] * MAX_ATTEMPTS  # the head came, then the break


def test_a_slow_answer_within_the_timeout_is_delivered(run: Run) -> None:
    outcome = run.outcomes["slow"]
    assert (outcome.row["status"], outcome.row["attempts"]) == ("delivered", 1)
    (arrival,) = outcome.arrivals
    assert arrival.answered_at is not None
    assert arrival.answered_at - arrival.at >= SLOW


def test_a_redirect_is_not_followed_and_says_to_correct_the_url(run: Run) -> None:
    outcome = run.outcomes["redirect"]
    refused_at_once(outcome)
    moved = url(run, "redirect").removesuffix("/redirect") + "/moved"
    assert outcome.row["verdict"] == (
        f"failed: HTTP 308 from {url(run, 'redirect')}: a redirect to {moved}, not followed "
        "(a signed message is posted only to the partner's URL as configured); correct the "
        "partner's URL if it has moved"
    )
    assert outcome.row["error_code"] == "partner-refused"
    assert run.partners.moved_hits == 0


@pytest.mark.parametrize(
    ("partner", "why"),  # OpenSSL's words (1.1 wrote "self signed")
    [
        ("tls_expired", "certificate has expired"),
        ("tls_mismatch", r"IP address mismatch, certificate is not valid for '127\.0\.0\.1'\."),
        ("tls_self_signed", "self.signed certificate"),
    ],
)
def test_a_tls_certificate_we_do_not_trust_is_refused_at_once(
    run: Run, partner: str, why: str
) -> None:
    outcome = run.outcomes[partner]
    refused_at_once(outcome)
    said = re.escape(f"failed: TLS: the certificate of {url(run, partner)} is not trusted (")
    fix = re.escape(
        "); not retried: the partner must fix its certificate (or the URL its host name), or "
        "its CA be added with AS2BUS_OUTBOUND_CA_BUNDLE"
    )
    assert re.fullmatch(said + why + fix, outcome.row["verdict"]), outcome.row["verdict"]
    assert outcome.arrivals == []  # no request got through


def test_a_healthy_partner_delivers_normally_alongside(run: Run) -> None:
    healthy, over_tls, hang = (run.outcomes[p] for p in ("healthy", "healthy_tls", "hang"))
    for outcome in (healthy, over_tls):
        assert [(r["status"], r["attempts"]) for r in outcome.rows] == [("delivered", 1)] * len(
            outcome.rows
        )
    assert len(healthy.rows) == len(healthy.arrivals) == 2
    # The second was sent while the hanging partner held our first attempt, and answered
    # before that attempt timed out: a partner that hangs holds no one else up.
    assert run.hang_open_then == 1
    second, first_hang = healthy.arrivals[1], hang.arrivals[0]
    assert second.at >= run.second_healthy_sent
    assert second.answered_at is not None
    assert first_hang.answered_at is not None
    assert second.answered_at < first_hang.answered_at
