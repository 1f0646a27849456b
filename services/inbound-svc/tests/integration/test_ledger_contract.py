"""The ledger's contract, held by the fake the unit tests use (``tests/fakes.FakeLedger``) and
by the real ``Ledger`` on SQLite and on PostgreSQL: the same checks, through the port
(``ports.MessageLedger``) only, so the fake cannot drift from the real thing unnoticed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from as2bus.inbound.adapters.ledger import Ledger
from as2bus.inbound.bootstrap import MIGRATIONS
from as2bus.inbound.ports import MessageLedger
from as2bus.shared.db import autocommit_session_factory, create_engine, upgrade_database

from ..fakes import FakeLedger

#: Each backend's database fixture (from the shared pytest plugin); the fake needs none.
DATABASES = {"sqlite": "sqlite_url", "postgresql": "postgres_url"}
BACKENDS = ["fake", *DATABASES]
ACME, MYCO = "ACME", "MYCO"


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
async def ledger(request: pytest.FixtureRequest) -> AsyncIterator[MessageLedger]:
    if request.param == "fake":
        yield FakeLedger()
        return
    url = str(request.getfixturevalue(DATABASES[request.param]))
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
    engine = create_engine(url)
    try:
        # What app.py gives it: autocommit sessions, every write one statement.
        yield Ledger(autocommit_session_factory(engine))
    finally:
        await engine.dispose()


async def test_a_first_claim_is_new_and_says_when(ledger: MessageLedger) -> None:
    before = datetime.now(UTC)
    claim, first = await ledger.claim(ACME, "<1@acme>", MYCO)
    assert claim == "new"
    assert first.tzinfo is not None  # events carry it: it must be an instant, not a wall time
    assert before <= first <= datetime.now(UTC) + timedelta(seconds=1)


async def test_a_claim_not_yet_delivered_is_a_retry_with_the_first_claims_time(
    ledger: MessageLedger,
) -> None:
    _, first = await ledger.claim(ACME, "<1@acme>", MYCO)
    assert await ledger.claim(ACME, "<1@acme>", MYCO) == ("retry", first)
    assert await ledger.claim(ACME, "<1@acme>", MYCO) == ("retry", first)


async def test_a_delivered_message_is_a_duplicate_with_the_first_claims_time(
    ledger: MessageLedger,
) -> None:
    _, first = await ledger.claim(ACME, "<1@acme>", MYCO)
    await ledger.delivered(ACME, "<1@acme>", "in/1", 7, "in/1/as-received", attachments=2)
    assert await ledger.claim(ACME, "<1@acme>", MYCO) == ("duplicate", first)
    await ledger.delivered(ACME, "<1@acme>", "in/1")  # the defaults: none of the extras
    assert await ledger.claim(ACME, "<1@acme>", MYCO) == ("duplicate", first)


async def test_of_concurrent_identical_claims_exactly_one_is_new(ledger: MessageLedger) -> None:
    claims = await asyncio.gather(*(ledger.claim(ACME, "<1@acme>", MYCO) for _ in range(5)))
    assert sorted(claim for claim, _ in claims) == ["new", "retry", "retry", "retry", "retry"]
    assert len({first for _, first in claims}) == 1


@pytest.mark.parametrize("delivered_first", [False, True], ids=["receiving", "delivered"])
async def test_a_released_claim_lets_the_message_be_claimed_afresh(
    ledger: MessageLedger, delivered_first: bool
) -> None:
    _, first = await ledger.claim(ACME, "<1@acme>", MYCO)
    if delivered_first:
        await ledger.delivered(ACME, "<1@acme>", "in/1")
    await ledger.release(ACME, "<1@acme>")
    claim, again = await ledger.claim(ACME, "<1@acme>", MYCO)
    assert claim == "new"
    assert again >= first


async def test_releasing_or_delivering_an_unclaimed_message_changes_nothing(
    ledger: MessageLedger,
) -> None:
    await ledger.release(ACME, "<never@acme>")
    await ledger.delivered(ACME, "<never@acme>", "in/never")
    assert (await ledger.claim(ACME, "<never@acme>", MYCO))[0] == "new"


async def test_a_message_id_is_one_partners_and_compared_exactly(ledger: MessageLedger) -> None:
    await ledger.claim(ACME, "<1@acme>", MYCO)
    await ledger.delivered(ACME, "<1@acme>", "in/1")
    assert (await ledger.claim("GLOBEX", "<1@acme>", MYCO))[0] == "new"
    assert (await ledger.claim(ACME, "<1@ACME>", MYCO))[0] == "new"
    assert (await ledger.claim(ACME, "<1@acme> ", MYCO))[0] == "new"
    await ledger.release("GLOBEX", "<1@acme>")  # releases only GLOBEX's
    assert (await ledger.claim(ACME, "<1@acme>", MYCO))[0] == "duplicate"


async def test_the_first_claims_mdn_url_is_kept_whatever_a_resend_names(
    ledger: MessageLedger,
) -> None:
    await ledger.claim(ACME, "<1@acme>", MYCO, mdn_url="https://acme.example/mdn")
    await ledger.delivered(ACME, "<1@acme>", "in/x")
    await ledger.claim(ACME, "<1@acme>", MYCO, mdn_url="http://127.0.0.1/elsewhere")
    assert await ledger.mdn_url(ACME, "<1@acme>") == "https://acme.example/mdn"
    await ledger.claim(ACME, "<2@acme>", MYCO)  # a synchronous MDN, or none
    assert await ledger.mdn_url(ACME, "<2@acme>") is None
    assert await ledger.mdn_url(ACME, "<never@acme>") is None
