"""The documents of a message we sent, over outbound-svc's API (read scope): the console
downloads and resends small inline documents through it, since only outbound-svc keeps them
(in the message's row, after it is settled, until the retention of sent documents is over)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI

from as2bus.contracts import DocumentRef
from as2bus.outbound.domain.documents import Document, attachments_column, kept_content
from as2bus.outbound.entrypoints import api
from as2bus.outbound.kept_documents import KeptDocuments
from as2bus.outbound.wiring import Components, wiring
from as2bus.shared.web import ApiTokens, Scope, include_scoped

from ..fakes import MessageStore
from ..fakes import fake_units_of_work as units
from .messages import T0, in_state

TOKEN = "outbound-read-token-0123456789ab"
MESSAGE_ID = "<3f2a/b+1@myco.as2bus>"  # "<", ">", "@", "/" and "+": percent-encoded in paths


def sent(message_id: str, status: str = "failed", **changes: Any) -> Any:
    """A settled message of three documents: the first and the third inline (in the row),
    the second in the object store."""
    ref = DocumentRef(bucket="as2_documents", name="out/b", size=4, sha256="0" * 64)
    documents = [
        Document("order ü.x12", "application/edi-x12", 7, kept=b"ISA*01~"),
        Document("b.pdf", "application/pdf", 4, ref=ref),
        Document(None, "text/csv", 5, kept=b"a,b,c"),
    ]
    fields = {"message_id": message_id, "filename": "order ü.x12", "document": None,
              "content": kept_content(documents),
              "attachments": attachments_column(documents[1:])}  # fmt: skip
    return in_state(status, **(fields | changes))  # type: ignore[arg-type]


def app_for(store: MessageStore) -> FastAPI:
    app = FastAPI()
    include_scoped(app, api.routers, ApiTokens({Scope.READ: [TOKEN]}))
    unused: Any = None  # the routes use the kept documents only
    documents = KeptDocuments(units(store))
    wiring.install(app, Components(unused, unused, unused, unused, unused, documents, unused))
    return app


def path(message_id: str, number: int | None = None) -> str:
    documents = f"/api/v1/messages/{quote(message_id, safe='')}/documents"
    return documents if number is None else f"{documents}/{number}"


async def test_a_settled_messages_inline_documents_are_listed_and_served() -> None:
    store = MessageStore()
    store.messages[MESSAGE_ID] = sent(MESSAGE_ID)
    transport = httpx.ASGITransport(app=app_for(store))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://o", headers=headers) as o:
        listed = await o.get(path(MESSAGE_ID))
        first, second, third = [await o.get(path(MESSAGE_ID, n)) for n in (1, 2, 3)]
        beyond = await o.get(path(MESSAGE_ID, 4))
        unknown = await o.get(path("<nobody@x>", 1))
        anonymous = await o.get(path(MESSAGE_ID, 1), headers={"Authorization": ""})
    assert listed.status_code == 200, listed.text
    assert [(d["number"], d["filename"], d["size"], d["kept_in"]) for d in listed.json()] == [
        (1, "order ü.x12", 7, "outbound-svc"),
        (2, "b.pdf", 4, "object-store"),
        (3, None, 5, "outbound-svc"),
    ]
    assert (first.status_code, first.content) == (200, b"ISA*01~")
    assert first.headers["content-type"] == "application/edi-x12"
    assert first.headers["content-disposition"] == "attachment; filename*=UTF-8''order%20%C3%BC.x12"
    assert (third.content, third.headers["content-type"]) == (b"a,b,c", "text/csv; charset=utf-8")
    assert "filename*=UTF-8''document-3" in third.headers["content-disposition"]
    assert second.status_code == 404
    assert second.json()["detail"] == (
        f"document 2 of message {MESSAGE_ID} is in the object store: read it by its reference"
    )
    assert beyond.status_code == 404
    assert beyond.json()["detail"] == f"message {MESSAGE_ID} has no document 4 (it has 3)"
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "outbound-svc sent no message <nobody@x>"
    assert anonymous.status_code == 401


async def test_documents_past_their_retention_are_said_to_be_no_longer_kept() -> None:
    """The retention cleared the row's bytes and deleted the stored object."""
    store = MessageStore()
    gone = sent(MESSAGE_ID, content=None, document_deleted_at=T0 + timedelta(days=30))
    store.messages[MESSAGE_ID] = gone
    transport = httpx.ASGITransport(app=app_for(store))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://o", headers=headers) as o:
        listed = await o.get(path(MESSAGE_ID))
        first = await o.get(path(MESSAGE_ID, 1))
    assert [(d["size"], d["kept_in"]) for d in listed.json()] == [
        (None, "no-longer"), (4, "no-longer"), (5, "no-longer")
    ]  # fmt: skip
    assert first.status_code == 404
    assert first.json()["detail"] == (
        f"document 1 of message {MESSAGE_ID} is no longer kept: the retention of sent "
        "documents is over"
    )
