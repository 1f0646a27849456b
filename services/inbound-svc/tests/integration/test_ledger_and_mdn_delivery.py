"""The Message-ID ledger and async MDN delivery, on both databases and over real HTTP(S)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.contracts import Event, MdnOutcome, MdnSent, PartnerState
from as2bus.contracts.config import PartnerTls
from as2bus.inbound.adapters.ledger import Ledger
from as2bus.inbound.adapters.mdn_delivery import MdnDelivery
from as2bus.inbound.adapters.mdn_network import MdnNetwork
from as2bus.inbound.adapters.mdn_sender import MdnSender
from as2bus.inbound.adapters.tables import pending_mdns
from as2bus.inbound.mdn_targets import MdnTargets, networks
from as2bus.shared.partner_tls.clients import PartnerClients
from as2bus.shared.partner_tls.identity import ClientIdentity
from as2bus.testing.config_states import partner_state
from as2bus.testing.local_http import Connection, local_http
from as2bus.testing.post_recorder import PostRecorder, post_recorder
from as2bus.testing.tls import PartnerServer, PrivateCa, server_context

Sessions = async_sessionmaker[AsyncSession]


async def test_a_message_id_is_claimed_once_even_concurrently(ledger_sessions: Sessions) -> None:
    ledger = Ledger(ledger_sessions)
    claims = await asyncio.gather(*(ledger.claim("acme", "<m1@acme>", "MYCO") for _ in range(5)))
    assert sorted(c for c, _ in claims) == ["new", "retry", "retry", "retry", "retry"]
    await ledger.delivered("acme", "<m1@acme>", "in/x")
    assert (await ledger.claim("acme", "<m1@acme>", "MYCO"))[0] == "duplicate"
    # the same Message-ID from another partner is another message
    assert (await ledger.claim("other", "<m1@acme>", "MYCO"))[0] == "new"


async def test_a_released_claim_lets_the_resend_through(ledger_sessions: Sessions) -> None:
    ledger = Ledger(ledger_sessions)
    assert (await ledger.claim("acme", "<m2@acme>", "MYCO"))[0] == "new"
    await ledger.release("acme", "<m2@acme>")
    assert (await ledger.claim("acme", "<m2@acme>", "MYCO"))[0] == "new"


@pytest.fixture
def partner_endpoint() -> Iterator[PostRecorder]:
    """A partner's MDN URL: fails the first two POSTs with 503, then accepts."""
    with post_recorder(failures=2) as endpoint:
        yield endpoint


class Partners:
    """The config replica's face: acme, with ``tls`` settings (none of ours to present)."""

    def __init__(self, tls: PartnerTls | None = None) -> None:
        self.acme = partner_state("acme", tls=tls or PartnerTls())

    def partner_by_as2_id(self, as2_id: str) -> PartnerState | None:
        return self.acme if as2_id == "acme" else None

    async def tls_identity(
        self, station: str | None, partner: PartnerState
    ) -> ClientIdentity | None:
        return None


#: The tests' MDN endpoints are on loopback: allowed, as `as2bus up` allows its demo's.
LOOPBACK = MdnNetwork(MdnTargets(networks(["127.0.0.0/8"])))


def sender(http: httpx.AsyncClient, partners: Partners | None = None) -> MdnSender:
    clients = PartnerClients(lambda: http, ca_bundle=None, timeout=5)
    return MdnSender(clients, partners or Partners(), LOOPBACK)


def outcome(url: str) -> MdnOutcome:
    return MdnOutcome(
        original_message_id="<m3@acme>",
        station="MYCO",
        partner="acme",
        mode="async",
        disposition="processed",
        signed=True,
        url=url,
        delivered=False,
    )


async def make_due(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        past = datetime.now(UTC) - timedelta(seconds=1)
        await session.execute(sa.update(pending_mdns).values(next_attempt_at=past))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_async_mdns_are_retried_with_backoff_and_survive_a_restart(
    sessions: Sessions, partner_endpoint: PostRecorder
) -> None:
    events: list[Event] = []

    async def publish(event: Event) -> None:
        events.append(event)

    async with httpx.AsyncClient() as http:
        first = MdnDelivery(sessions, sender(http), publish, max_attempts=5, backoff_seconds=60)
        await first.enqueue(
            outcome(f"{partner_endpoint.url}/mdn"), {"Content-Type": "x"}, b"MDN-BODY"
        )
        assert await first.deliver_due() == 1  # 503
        assert await first.deliver_due() == 0  # backing off: not due for 60 s
        await make_due(sessions)
        # "Restart": a new delivery object on the same table picks the work up.
        second = MdnDelivery(sessions, sender(http), publish, max_attempts=5, backoff_seconds=60)
        assert await second.deliver_due() == 1  # 503 again
        await make_due(sessions)
        assert await second.deliver_due() == 1  # delivered
    assert partner_endpoint.bodies == [b"MDN-BODY"]
    sent = [e for e in events if isinstance(e, MdnSent)]
    assert [(e.data.delivered, e.data.attempts) for e in sent] == [
        (False, 1),
        (False, 2),
        (True, 3),
    ]
    async with sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(pending_mdns)) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_async_mdn_delivery_gives_up_after_the_last_attempt(sessions: Sessions) -> None:
    events: list[Event] = []

    async def publish(event: Event) -> None:
        events.append(event)

    async with httpx.AsyncClient() as http:
        delivery = MdnDelivery(
            sessions, sender(http), publish, max_attempts=2, backoff_seconds=0.01
        )
        await delivery.enqueue(outcome("http://127.0.0.1:9/nothing-listens"), {}, b"x")
        await delivery.deliver_due()
        await make_due(sessions)
        await delivery.deliver_due()
    final = events[-1]
    assert isinstance(final, MdnSent)
    assert final.data.delivered is False
    assert final.data.attempts == 2
    assert final.data.error == (
        "could not reach http://127.0.0.1:9/nothing-listens: nothing is listening at "
        "127.0.0.1:9: connection refused"
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_tls_refusal_retrying_cannot_change_gives_the_mdn_up_at_once(
    sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[Event] = []

    async def publish(event: Event) -> None:
        events.append(event)

    server = PartnerServer(server_context(PrivateCa("theirs").issue()))
    pinned = Partners(PartnerTls(verify=False, pinned_sha256=["ab" * 32]))
    try:
        async with httpx.AsyncClient() as http:
            delivery = MdnDelivery(
                sessions, sender(http, pinned), publish, max_attempts=5, backoff_seconds=0.01
            )
            await delivery.enqueue(outcome(server.url("/mdn")), {}, b"x")
            assert await delivery.deliver_due() == 1
            await make_due(sessions)
            assert await delivery.deliver_due() == 0  # given up: nothing left to try
    finally:
        server.close()
    (sent,) = [e for e in events if isinstance(e, MdnSent)]
    assert (sent.data.delivered, sent.data.attempts) == (False, 1)
    reason = sent.data.error or ""
    assert reason.startswith("TLS: the partner's certificate (SHA-256 ")
    assert f"matches none of the pinned ones ({server.url('/mdn')}); not retried" in reason
    assert server.received == 0
    assert f"async MDN for <m3@acme> to acme, attempt 1: {reason}; given up" in caplog.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_mdns_coming_one_after_another_share_a_connection_closed_once_none_is_due(
    sessions: Sessions,
) -> None:
    """No TCP (or TLS) handshake per MDN while they keep coming; and no connection kept once
    none is due, so that one to this very service cannot hold its graceful stop."""
    sent: list[Event] = []

    async def publish(event: Event) -> None:
        sent.append(event)

    async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
        async with asyncio.timeout(seconds):
            while not condition():
                await asyncio.sleep(0.01)

    clients = PartnerClients(httpx.AsyncClient, ca_bundle=None, timeout=5)
    delivery = MdnDelivery(
        sessions,
        MdnSender(clients, Partners(), LOOPBACK),
        publish,
        max_attempts=2,
        backoff_seconds=1,
    )
    async with local_http(path="/mdn") as endpoint:
        running = asyncio.create_task(delivery.run())
        try:
            for count in (1, 2, 3):
                await delivery.enqueue(outcome(endpoint.url), {}, b"MDN")
                await until(lambda count=count: len(sent) == count)  # type: ignore[misc]
                assert endpoint.connections == [Connection(requests=count, closed=False)]
            await until(lambda: endpoint.connections[0].closed, seconds=3.0)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await clients.aclose()
    assert all(isinstance(e, MdnSent) and e.data.delivered for e in sent)
    assert endpoint.connections == [Connection(requests=3, closed=True)]
