"""The real service over HTTP, migrated on SQLite and PostgreSQL: an inbound message of
several documents (RFC 6362) is returned with the documents after the first, and the list
says how many follow the first."""

from __future__ import annotations

from typing import Any

from as2bus.testing.tracklog import in_memory, inbound

from .conftest import client, publish, wait_applied

__all__ = ["client"]  # the fixture, used by name


async def test_the_detail_returns_every_document_of_a_message(
    nats_url: str, database_url: str, start_service: Any, client: Any
) -> None:
    several = inbound("<several@acme>", attachments=[("invoice.xml", "application/xml", 10),
                                                     (None, "application/pdf", 8)])  # fmt: skip
    one = inbound("<one@acme>")
    rows = in_memory([*several, *one])
    api = client(start_service(database_url))
    await publish(nats_url, [*several, *one])
    await wait_applied(api, len(several) + len(one))
    details = {}
    for ref in rows:
        answer = await api.get(f"/api/v1/messages/{ref}")
        assert answer.status_code == 200, answer.text
        details[answer.json()["message_id"]] = answer.json()
    detail = details["<several@acme>"]
    assert detail["document"]["name"] == "in/<several@acme>"
    assert [(a["filename"], a["content_type"], a["size"], a["document"]["name"])
            for a in detail["attachments"]] == [
        ("invoice.xml", "application/xml", 10, "in/<several@acme>/attachment-1"),
        (None, "application/pdf", 8, "in/<several@acme>/attachment-2"),
    ]  # fmt: skip
    assert detail["timeline"][0]["summary"].endswith("and 2 more documents (18 bytes)")
    assert details["<one@acme>"]["attachments"] == []
    assert (detail["attachment_count"], details["<one@acme>"]["attachment_count"]) == (2, 0)


async def test_the_list_says_how_many_documents_follow_the_first(
    nats_url: str, database_url: str, start_service: Any, client: Any
) -> None:
    """``as2bus track list`` shows "order.edi +2" from it, without the detail of each row."""
    several = inbound("<several@acme>", attachments=[("invoice.xml", "application/xml", 10),
                                                     (None, "application/pdf", 8)])  # fmt: skip
    one = inbound("<one@acme>")
    api = client(start_service(database_url))
    await publish(nats_url, [*several, *one])
    await wait_applied(api, len(several) + len(one))
    answer = await api.get("/api/v1/messages")
    assert answer.status_code == 200, answer.text
    counts = {m["message_id"]: m["attachment_count"] for m in answer.json()["items"]}
    assert counts == {"<several@acme>": 2, "<one@acme>": 0}
