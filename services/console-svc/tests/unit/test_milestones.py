"""The milestone ladder: which step is done, where a message stopped, what it waits for."""

from __future__ import annotations

from typing import Any

from as2bus.console.domain.milestones import milestones

T = "2026-01-02T10:00:00+00:00"


def outbound(status: str, **fields: Any) -> dict[str, Any]:
    return {"direction": "outbound", "status": status, "mdn_requested": "sync",
            "queued_at": T, "sent_at": None, "mdn_at": None, "failed_at": None,
            "timeline": [], **fields}  # fmt: skip


def ladder(detail: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(m.name, m.state, m.text) for m in milestones(detail)]


def test_a_delivered_message_has_every_step_done() -> None:
    detail = outbound("delivered", sent_at=T, mdn_at=T,
                      timeline=[{"event_type": "MessageDelivered", "occurred_at": T}])  # fmt: skip
    assert ladder(detail) == [("queued", "done", "done"), ("sent", "done", "done"),
                              ("MDN received", "done", "done"),
                              ("delivered", "done", "done")]  # fmt: skip
    assert milestones(detail)[-1].at == T


def test_a_message_that_failed_before_sending_stopped_at_sent() -> None:
    detail = outbound("failed", failed_at=T)
    assert ladder(detail) == [("queued", "done", "done"), ("sent", "stopped", "stopped here"),
                              ("MDN received", "pending", "not reached"),
                              ("delivered", "pending", "not reached")]  # fmt: skip
    assert milestones(detail)[1].at == T  # when it stopped


def test_a_refused_send_request_stopped_before_the_queue() -> None:
    detail = outbound("rejected", queued_at=None, rejected_at=T)
    assert ladder(detail)[0] == ("queued", "stopped", "stopped here")


def test_no_mdn_in_time_stops_at_the_mdn() -> None:
    detail = outbound("failed", sent_at=T, failed_at=T)
    assert [m.state for m in milestones(detail)] == ["done", "done", "stopped", "pending"]


def test_a_negative_mdn_is_received_and_stops_delivery() -> None:
    detail = outbound("failed", sent_at=T, mdn_at=T, failed_at=T)
    assert [m.state for m in milestones(detail)] == ["done", "done", "done", "stopped"]


def test_a_sent_message_waits_for_its_mdn() -> None:
    assert ladder(outbound("sent", sent_at=T)) == [
        ("queued", "done", "done"), ("sent", "done", "done"),
        ("MDN received", "pending", "waiting"), ("delivered", "pending", "not yet")]  # fmt: skip


def test_without_an_mdn_there_is_no_mdn_step() -> None:
    names = [m.name for m in milestones(outbound("delivered", sent_at=T, mdn_requested="none"))]
    assert names == ["queued", "sent", "delivered"]


def inbound(status: str, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    received = [{"event_type": "MessageReceived", "occurred_at": T, "data": {"headers": headers}}]
    return {"direction": "inbound", "status": status, "created_at": T, "received_at": T,
            "mdn_at": None, "mdn_delivered": None, "timeline": received, **fields}  # fmt: skip


def test_an_inbound_message_is_received_then_on_the_bus_then_answered() -> None:
    asked = {"Disposition-Notification-To": "edi@partner.example"}
    assert ladder(inbound("received", asked)) == [
        ("received", "done", "done"), ("delivered to the bus", "done", "done"),
        ("MDN sent", "pending", "waiting")]  # fmt: skip
    answered = inbound("mdn-sent", asked, mdn_at=T, mdn_delivered=True)
    assert [m.state for m in milestones(answered)] == ["done", "done", "done"]
    unanswered = inbound("mdn-failed", asked, mdn_at=T, mdn_delivered=False)
    assert ladder(unanswered)[-1] == ("MDN sent", "stopped", "stopped here")


def test_an_inbound_message_without_an_mdn_asked_has_no_mdn_step() -> None:
    assert [m.name for m in milestones(inbound("received", {"AS2-From": "ACME"}))] == [
        "received", "delivered to the bus"]  # fmt: skip


def test_a_refused_inbound_message_never_reached_the_bus() -> None:
    refused = inbound("rejected", received_at=None, rejected_at=T, timeline=[])
    assert ladder(refused) == [("received", "done", "done"),
                               ("delivered to the bus", "stopped", "stopped here")]  # fmt: skip
