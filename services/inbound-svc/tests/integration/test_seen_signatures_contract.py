"""The contract of the signatures replay protection remembers (``ports.SeenSignatures``), held
by the fake the unit tests use (``tests/fakes.FakeSeenSignatures``) and by the real
``SeenSignatureTable`` on SQLite and on PostgreSQL, through the port only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from as2bus.inbound.adapters.seen_signatures import SeenSignatureTable
from as2bus.inbound.bootstrap import MIGRATIONS
from as2bus.inbound.ports import SeenSignature, SeenSignatures
from as2bus.shared.db import autocommit_session_factory, create_engine, upgrade_database

from ..fakes import FakeSeenSignatures

DATABASES = {"sqlite": "sqlite_url", "postgresql": "postgres_url"}
BACKENDS = ["fake", *DATABASES]
ACME, KEY = "ACME", "ab" * 32
#: Whole seconds: what every backend gives back exactly.
NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
SIGNED = NOW - timedelta(minutes=5)
UNTIL = NOW + timedelta(hours=48)


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
async def seen(request: pytest.FixtureRequest) -> AsyncIterator[SeenSignatures]:
    if request.param == "fake":
        yield FakeSeenSignatures()
        return
    url = str(request.getfixturevalue(DATABASES[request.param]))
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
    engine = create_engine(url)
    try:
        yield SeenSignatureTable(autocommit_session_factory(engine))
    finally:
        await engine.dispose()


async def claim(
    seen: SeenSignatures,
    message_id: str,
    *,
    key: str = KEY,
    partner: str = ACME,
    now: datetime = NOW,
    kept_until: datetime = UNTIL,
) -> SeenSignature:
    return await seen.claim(
        partner, key, message_id, signed_at=SIGNED, now=now, kept_until=kept_until
    )


async def test_a_first_claim_is_new_and_held_for_its_message_id(seen: SeenSignatures) -> None:
    assert await claim(seen, "<1@acme>") == SeenSignature("new", "<1@acme>", NOW)


async def test_another_message_id_finds_it_pending_then_accepted(seen: SeenSignatures) -> None:
    await claim(seen, "<1@acme>")
    later = NOW + timedelta(seconds=3)
    assert await claim(seen, "<2@x>", now=later) == SeenSignature("pending", "<1@acme>", NOW)
    await seen.accepted(ACME, KEY, "<1@acme>", later)
    assert await claim(seen, "<2@x>", now=later) == SeenSignature("accepted", "<1@acme>", NOW)


async def test_its_own_message_id_claims_it_again_as_new(seen: SeenSignatures) -> None:
    """A resend of the same Message-ID after a crash, accepted or not."""
    await claim(seen, "<1@acme>")
    assert (await claim(seen, "<1@acme>", now=NOW + timedelta(minutes=1))).claim == "new"
    await seen.accepted(ACME, KEY, "<1@acme>", NOW)
    assert (await claim(seen, "<1@acme>")).claim == "new"


async def test_of_concurrent_claims_by_different_message_ids_exactly_one_is_new(
    seen: SeenSignatures,
) -> None:
    claims = await asyncio.gather(*(claim(seen, f"<{i}@copy>") for i in range(5)))
    assert sorted(c.claim for c in claims) == ["new", "pending", "pending", "pending", "pending"]
    assert len({c.message_id for c in claims}) == 1  # all name the winner


async def test_a_released_hold_lets_another_message_id_have_it(seen: SeenSignatures) -> None:
    await claim(seen, "<1@acme>")
    await seen.release(ACME, KEY, "<2@x>")  # not its holder: changes nothing
    assert (await claim(seen, "<2@x>")).claim == "pending"
    await seen.release(ACME, KEY, "<1@acme>")
    assert await claim(seen, "<2@x>") == SeenSignature("new", "<2@x>", NOW)


async def test_accepting_for_another_message_id_changes_nothing(seen: SeenSignatures) -> None:
    await claim(seen, "<1@acme>")
    await seen.accepted(ACME, KEY, "<2@x>", NOW)
    assert (await claim(seen, "<3@x>")).claim == "pending"


async def test_a_signature_is_one_partners(seen: SeenSignatures) -> None:
    await claim(seen, "<1@acme>")
    await seen.accepted(ACME, KEY, "<1@acme>", NOW)
    assert (await claim(seen, "<1@globex>", partner="GLOBEX")).claim == "new"
    assert (await claim(seen, "<2@acme>", key="cd" * 32)).claim == "new"


async def test_the_purge_forgets_what_is_kept_until_before_now(seen: SeenSignatures) -> None:
    await claim(seen, "<old@acme>", key="01" * 32, kept_until=NOW + timedelta(hours=1))
    await claim(seen, "<new@acme>", key="02" * 32, kept_until=NOW + timedelta(hours=3))
    await seen.accepted(ACME, "01" * 32, "<old@acme>", NOW)
    assert await seen.purge(NOW + timedelta(hours=1)) == 0  # not before: kept
    assert await seen.purge(NOW + timedelta(hours=2)) == 1
    assert (await claim(seen, "<other@x>", key="01" * 32)).claim == "new"  # forgotten
    assert (await claim(seen, "<other@x>", key="02" * 32)).claim == "pending"  # kept
