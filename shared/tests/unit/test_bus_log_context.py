"""A consumer's log lines name the message it handles: the Message-ID for message and MDN
events, the correlation id under its own name for anything else, and nothing after it."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from faststream.nats import TestNatsBroker

from as2bus.contracts import CertExpiring, MdnReceived, MessageDelivered, MessageRejected
from as2bus.shared.bus.connection import new_broker
from as2bus.shared.bus.log_context import MessageLogContext, about_bus_message, log_fields
from as2bus.shared.logs import configure_logging

log = logging.getLogger("as2bus.test.consumer")


def test_the_field_is_named_after_what_the_subject_carries() -> None:
    mid = {"correlation_id": "<m@a>"}
    assert log_fields(MessageDelivered.subject, mid) == {"message_id": "<m@a>"}
    assert log_fields(MdnReceived.subject, mid) == {"message_id": "<m@a>"}
    # a refused send request's is its request_id; a certificate's, its alias
    assert log_fields(MessageRejected.subject, mid) == {"correlation_id": "<m@a>"}
    assert log_fields(CertExpiring.subject, {"correlation_id": "MYCO"}) == {
        "correlation_id": "MYCO"
    }
    assert log_fields("as2.cmd.send", {"Nats-Msg-Id": "r-1"}) is None
    assert log_fields(MessageDelivered.subject, None) is None


def test_every_broker_has_it() -> None:
    assert list(new_broker("nats://127.0.0.1:4222", name="t").middlewares) == [MessageLogContext]


def _lines(text: str) -> list[dict[str, str]]:
    return [json.loads(x) for x in text.splitlines() if x.startswith("{")]


async def test_a_handlers_lines_name_its_message_and_only_its_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broker = new_broker("nats://127.0.0.1:4222", name="t")
    events, configs = f"as2.evt.mdn.{uuid.uuid4().hex}", f"as2.evt.config.{uuid.uuid4().hex}"

    @broker.subscriber(events)
    @broker.subscriber(configs)
    async def handle(body: str) -> None:
        log.info("handling %s", body)
        if body == "fails":
            raise RuntimeError("the handler failed")

    configure_logging("test-svc", "INFO", json_lines=True)
    try:
        async with TestNatsBroker(broker) as test:
            await test.publish("mdn", events, correlation_id="<m1@a>")
            await test.publish("partner", configs, correlation_id="0b6c")
            with pytest.raises(RuntimeError):
                await test.publish("fails", events, correlation_id="<m2@a>")
            log.info("between messages")
        lines = _lines(capsys.readouterr().err)
    finally:
        logging.getLogger().handlers.clear()
    named = {
        line["msg"]: (line.get("message_id"), line.get("correlation_id"))
        for line in lines
        if line["logger"] == log.name
    }
    assert named["handling mdn"] == ("<m1@a>", None)
    assert named["handling partner"] == (None, "0b6c")
    assert named["handling fails"] == ("<m2@a>", None)
    assert named["between messages"] == (None, None)


def test_a_consumer_without_faststream_names_each_message_it_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """tracklog-svc reads NATS itself, and names each event while it decodes it."""
    configure_logging("test-svc", "INFO", json_lines=True)
    try:
        with about_bus_message(MessageDelivered.subject, {"correlation_id": "<m@a>"}):
            log.warning("undecodable")
        with about_bus_message("as2.cmd.send", None):
            log.warning("no id")
        lines = _lines(capsys.readouterr().err)
    finally:
        logging.getLogger().handlers.clear()
    assert [(line["msg"], line.get("message_id")) for line in lines] == [
        ("undecodable", "<m@a>"),
        ("no id", None),
    ]
