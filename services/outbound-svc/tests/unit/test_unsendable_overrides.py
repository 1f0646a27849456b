"""Overrides a partnership cannot be sent with are refused when the request comes (a
MessageRejected within a second), not retried for a quarter of an hour as an unexpected
error; a message accepted before its partnership changed so fails at its attempt at once."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from as2bus.contracts import (
    MessageFailed,
    MessageQueued,
    MessageRejected,
    MessageRetrying,
    SendOverrides,
)

from .test_sending import accepted, claimed, request
from .world import outbound

NO_MDN_URL = (
    "overrides.mdn_mode 'async': ACME would have no URL to send its MDN to (it has no async "
    "MDN URL of its own, and AS2BUS_OUTBOUND_ASYNC_MDN_URL is not set); set "
    "AS2BUS_OUTBOUND_ASYNC_MDN_URL to our inbound endpoint's public URL, or leave the "
    "override out"
)
NO_COMPRESSION = (
    "overrides.compression 'before-signing': ACME speaks AS2 1.0, which has no compression; "
    "leave the override out"
)


async def test_an_async_mdn_asked_for_with_no_url_to_send_it_to_is_refused_at_once() -> None:
    world = outbound(mdn_url_setting=None)  # and ACME has no async MDN URL of its own
    asking = request().model_copy(update={"overrides": SendOverrides(mdn_mode="async")})
    assert await world.acceptor.accept(asking) == "rejected"
    (refused,) = world.store.of_type(MessageRejected)
    assert (refused.data.code, refused.data.reason) == ("INVALID_REQUEST", NO_MDN_URL)
    assert world.store.messages == {}


async def test_an_async_mdn_is_accepted_with_the_gateways_url_or_the_partners() -> None:
    asking = request().model_copy(update={"overrides": SendOverrides(mdn_mode="async")})
    for world in (outbound(), outbound(mdn_url_setting=None, async_mdn_url="https://x/mdn")):
        assert await world.acceptor.accept(asking) == "queued"


@pytest.mark.parametrize(
    ("partner", "overrides", "reason"),
    [
        ({"as2_version": "1.0"}, SendOverrides(compression="before-signing"), NO_COMPRESSION),
        ({}, None, "subject must be one line: 'PO 1\\r\\nBcc: someone'"),
    ],
)
async def test_what_the_codec_would_refuse_to_build_is_refused_at_once(
    partner: dict[str, Any], overrides: SendOverrides | None, reason: str
) -> None:
    world = outbound(**partner)
    update = {"overrides": overrides} if overrides else {"subject": "PO 1\r\nBcc: someone"}
    assert await world.acceptor.accept(request().model_copy(update=update)) == "rejected"
    (refused,) = world.store.of_type(MessageRejected)
    assert (refused.data.code, refused.data.reason) == ("INVALID_REQUEST", reason)


async def test_a_message_its_partnership_can_no_longer_send_fails_at_once_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Accepted while ACME had an async MDN URL of its own, which was removed since; no
    AS2BUS_OUTBOUND_ASYNC_MDN_URL either."""
    world = outbound(mdn_url_setting=None, async_mdn_url="https://myco.example/acme-mdn")
    asking = request().model_copy(update={"overrides": SendOverrides(mdn_mode="async")})
    message = await claimed(world, await accepted(world, asking))
    (acme,) = world.replica.partners.values()
    world.replica.partners[acme.id] = acme.model_copy(update={"async_mdn_url": None})
    with caplog.at_level(logging.WARNING):
        assert await world.sender.send(message) == "failed"
    (failed,) = world.store.of_type(MessageFailed)
    assert (failed.data.code, failed.data.reason, failed.data.attempts) == (
        "partnership-unavailable", NO_MDN_URL, 1
    )  # fmt: skip
    assert world.store.of_type(MessageRetrying) == []
    assert world.partner.posted == []
    assert not any(r.exc_info for r in caplog.records)


async def test_a_partnership_the_codec_cannot_build_for_fails_the_message_at_once() -> None:
    """The codec's own check (check_sides), for settings config-svc would not take today:
    ACME compressing on AS2 1.0."""
    world = outbound(compression="before-signing")
    message = await claimed(world, await accepted(world))
    assert world.store.of_type(MessageQueued)
    (acme,) = world.replica.partners.values()
    world.replica.partners[acme.id] = acme.model_copy(update={"as2_version": "1.0"})
    assert await world.sender.send(message) == "failed"
    (failed,) = world.store.of_type(MessageFailed)
    assert (failed.data.code, failed.data.reason) == (
        "partnership-unavailable",
        "compression for ACME needs AS2 1.1 or later, not its as2_version 1.0",
    )
    assert world.partner.posted == []
