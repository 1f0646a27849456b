"""Replay protection in the real inbound-svc, over HTTP, against an independent signer:
pyas2lib plays the partner acme, one of its signed messages is captured and posted again
under a new Message-ID (an HTTP header no signature covers), as an attacker would. With acme's
replay protection on, the copy is answered as a duplicate and only one MessageReceived reaches
the bus; off, both are delivered. A signing time outside the window is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js import JetStreamContext

from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of

from .conftest import partnership_with_keys, start_inbound, stop
from .test_inbound_pyas2lib_partner import post, pyas2lib_reads_mdn, pyas2lib_sender

REPLAY = "<replayed-1@attacker.example>"


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


def under_new_message_id(headers: dict[str, str]) -> dict[str, str]:
    """The captured headers with only the Message-ID changed."""
    kept = {k: v for k, v in headers.items() if k.lower() != "message-id"}
    assert len(kept) == len(headers) - 1
    return {**kept, "Message-ID": REPLAY}


async def received_now(js: JetStreamContext) -> list[str]:
    """The Message-IDs of every MessageReceived the stream holds now."""
    return [e["data"]["message_id"] for e in await events_of(js, "MessageReceived", count=0)]


@pytest.mark.parametrize("protected", [True, False], ids=["on", "off"])
async def test_a_captured_message_posted_under_a_new_message_id(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    js: JetStreamContext,
    protected: bool,
) -> None:
    ours, acme = await partnership_with_keys(config_svc, cert_svc, replay_protection=protected)
    captured = pyas2lib_sender(ours, acme, "SYNC", None)
    first = await post(inbound_svc, captured.headers, captured.content)
    assert first.status_code == 200
    assert pyas2lib_reads_mdn(captured, dict(first.headers), first.content) == ("processed", None)
    (original,) = await events_of(js, "MessageReceived")

    replayed = await post(inbound_svc, under_new_message_id(captured.headers), captured.content)

    # Either way the copy gets a processed MDN: its signature does verify.
    assert replayed.status_code == 200
    assert b"processed" in replayed.content
    if protected:
        (duplicate,) = await events_of(js, "MessageDuplicate")
        assert duplicate["data"]["message_id"] == REPLAY
        first_id = original["data"]["message_id"]
        assert f"as Message-ID {first_id}" in duplicate["data"]["reason"]
        assert await received_now(js) == [first_id]  # published before the answer, if at all
    else:
        received = await events_of(js, "MessageReceived", count=2)
        assert [e["data"]["message_id"] for e in received][1] == REPLAY
        assert await events_of(js, "MessageDuplicate", count=0) == []
    async with httpx.AsyncClient(base_url=inbound_svc.base_url) as http:
        metrics = (await http.get("/metrics")).text
    seen = 'as2bus_inbound_replays_refused_total{partner="acme",reason="signature-seen"} 1.0'
    assert (seen in metrics) == protected


@pytest.fixture
def inbound_with_a_short_window(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    proc = start_inbound(
        nats_url,
        master_key,
        tmp_path,
        AS2BUS_INBOUND_REPLAY_WINDOW_SECONDS="2",
        AS2BUS_INBOUND_REPLAY_CLOCK_SKEW_SECONDS="0",
    )
    yield proc
    stop(proc)


async def test_a_signing_time_outside_the_window_is_refused(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_with_a_short_window: ServiceProcess,
    js: JetStreamContext,
) -> None:
    ours, acme = await partnership_with_keys(config_svc, cert_svc)  # on: a new partner
    captured = pyas2lib_sender(ours, acme, "SYNC", None)
    await asyncio.sleep(3.5)  # signing time (whole seconds) now more than 2 s ago

    response = await post(inbound_with_a_short_window, captured.headers, captured.content)

    status, detail = pyas2lib_reads_mdn(captured, dict(response.headers), response.content)
    assert "authentication-failed" in f"{status} {detail}"
    (rejected,) = await events_of(js, "MessageRejected")
    reason: Any = rejected["data"]["reason"]
    assert rejected["data"]["modifier"] == "authentication-failed"
    assert "is outside the replay window: more than 2 seconds before our time" in reason
    assert await received_now(js) == []
