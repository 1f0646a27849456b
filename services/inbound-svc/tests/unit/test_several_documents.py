"""A message with several documents (RFC 6362): every one is stored beside the first under a
name of its own and announced in MessageReceived, every file the codec left is closed once,
and a failure to store any of them delivers nothing. Fakes of the ledger, the object store and
the bus; the codec's result is given (``Receiver._parse`` stands in for it)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

import pytest

from as2bus import as2
from as2bus.contracts import DocumentRef, Event, MessageReceived
from as2bus.inbound.domain import attachment_name, document_name
from as2bus.inbound.metrics import DOCUMENTS, RECEIVED
from as2bus.inbound.parties import Parties
from as2bus.inbound.replay_protection import ReplayProtection
from as2bus.inbound.service import Receiver
from as2bus.inbound.storing import close_documents
from as2bus.testing.config_states import partner_state, station_state

from ..fakes import FakeSeenSignatures
from .receiving import WINDOW

PARTIES = Parties(
    station_state("MYCO", name="Me"),
    partner_state("ACME", name="Acme", as2_alias="acme", as2_url="http://x/as2"),
    as2.LocalParty(as2_id="MYCO", signing=None),
    as2.RemoteParty(as2_id="ACME", require_signed=False, require_encrypted=False),
)
MESSAGE_ID = "<several@acme>"
NAME = document_name("ACME", MESSAGE_ID)
T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


class Resolver:
    async def resolve(self, _from: str, _to: str) -> Parties:
        return PARTIES


class FakeLedger:
    """Claims ``new`` first and ``retry`` after a release or a crash (never ``duplicate``
    unless delivered); records what was delivered."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.released: list[str] = []
        self.claimed = 0

    async def claim(
        self, partner: str, message_id: str, station: str, *, mdn_url: str | None = None
    ) -> tuple[str, datetime]:
        self.claimed += 1
        if self.deliveries:
            return "duplicate", T0
        return ("new" if self.claimed == 1 else "retry"), T0

    async def mdn_url(self, partner: str, message_id: str) -> str | None:
        return None

    async def delivered(
        self,
        partner: str,
        message_id: str,
        document: str,
        event_seq: int | None = None,
        raw_document: str | None = None,
        *,
        attachments: int = 0,
    ) -> None:
        self.deliveries.append({"document": document, "raw": raw_document, "n": attachments})

    async def release(self, partner: str, message_id: str) -> None:
        self.released.append(message_id)


class FakeStore:
    """DocumentStore's writes; ``fail_on``: the name whose put fails."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts: list[str] = []
        self.fail_on = fail_on

    def _ref(self, name: str, data: bytes) -> DocumentRef:
        if name == self.fail_on:
            raise ConnectionError("nats: connection closed")
        self.puts.append(name)
        self.objects[name] = data
        digest = hashlib.sha256(data).hexdigest()
        return DocumentRef(bucket="as2_documents", name=name, size=len(data), sha256=digest)

    async def put(self, name: str, data: bytes) -> DocumentRef:
        return self._ref(name, data)

    async def put_file(self, name: str, file: BinaryIO, offset: int, size: int) -> DocumentRef:
        assert not file.closed
        file.seek(offset)
        return self._ref(name, file.read(size))

    async def keep_http_message(
        self, name: str, headers: list[tuple[str, str]], body: bytes, *, what: str
    ) -> DocumentRef | None:
        return self._ref(name, body)

    async def delete(self, name: str) -> bool:
        return self.objects.pop(name, None) is not None


class CountedFile(io.BytesIO):
    """A temporary file that counts how often it is closed."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.closes = 0

    def close(self) -> None:
        self.closes += 1
        super().close()


class GivenMessage(Receiver):
    """The receiver, with the codec's result given instead of parsed."""

    def __init__(self, message: as2.ReceivedMessage, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def _parse(
        self, headers: Mapping[str, str], body: bytes | BinaryIO, parties: Parties
    ) -> as2.ReceivedMessage:
        return self.message


def received(
    payload: bytes = b"",
    payload_file: as2.SpooledPayload | None = None,
    attachments: tuple[as2.ReceivedAttachment, ...] = (),
) -> as2.ReceivedMessage:
    return as2.ReceivedMessage(
        message_id=MESSAGE_ID, as2_from="ACME", as2_to="MYCO", payload=payload,
        filename="order.x12", content_type="application/edi-x12", subject="POs",
        signed=False, encrypted=False, compressed=False, mic=None, mic_alg=None, mdn=None,
        payload_file=payload_file, attachments=attachments,
    )  # fmt: skip


IN_MEMORY = received(
    b"ISA*first~",
    attachments=(
        as2.ReceivedAttachment("invoice.xml", "application/xml", payload=b"<invoice/>"),
        as2.ReceivedAttachment(None, "application/pdf", payload=b"%PDF-1.7"),
    ),
)
HEADERS = {"message-id": MESSAGE_ID, "as2-from": "ACME", "as2-to": "MYCO"}


def receiver(
    message: as2.ReceivedMessage, store: FakeStore, ledger: FakeLedger, published: list[Event]
) -> GivenMessage:
    async def publish(event: Event) -> int:
        published.append(event)
        return len(published)

    return GivenMessage(
        message,
        parties=Resolver(),
        ledger=ledger,
        documents=store,
        mdns=None,  # no async MDN asked
        publish=publish,
        replays=ReplayProtection(FakeSeenSignatures(), WINDOW),
        max_payload_bytes=1 << 20,
    )


def counter(metric: Any) -> float:
    return float(metric.labels("ACME")._value.get())


async def test_every_document_is_stored_and_announced_in_order() -> None:
    store, ledger = FakeStore(), FakeLedger()
    published: list[Event] = []
    messages, documents = counter(RECEIVED), counter(DOCUMENTS)
    answer = await receiver(IN_MEMORY, store, ledger, published).receive(HEADERS, b"as sent")
    assert answer.status_code == 200
    first, second = attachment_name(NAME, 1), attachment_name(NAME, 2)
    assert store.objects[NAME] == b"ISA*first~"
    assert store.objects[first] == b"<invoice/>"
    assert store.objects[second] == b"%PDF-1.7"
    # Handed on as the codec gave them: no second copy of a document in memory.
    assert store.objects[first] is IN_MEMORY.attachments[0].payload
    assert store.objects[NAME] is IN_MEMORY.payload
    (event,) = published
    assert isinstance(event, MessageReceived)
    data = event.data
    assert (data.filename, data.document.name) == ("order.x12", NAME)
    assert [(a.filename, a.content_type, a.document.name, a.document.size)
            for a in data.attachments] == [("invoice.xml", "application/xml", first, 10),
                                           (None, "application/pdf", second, 8)]  # fmt: skip
    assert data.attachments[0].document.sha256 == hashlib.sha256(b"<invoice/>").hexdigest()
    assert ledger.deliveries == [{"document": NAME, "raw": f"{NAME}/as-received", "n": 2}]
    assert counter(RECEIVED) == messages + 1  # one message ...
    assert counter(DOCUMENTS) == documents + 3  # ... of three documents


async def test_one_document_announces_no_attachments() -> None:
    store, ledger = FakeStore(), FakeLedger()
    published: list[Event] = []
    alone = received(b"ISA*only~")
    answer = await receiver(alone, store, ledger, published).receive(HEADERS, b"as sent")
    assert answer.status_code == 200
    assert sorted(store.objects) == [NAME, f"{NAME}/as-received"]
    assert isinstance(published[0], MessageReceived)
    assert published[0].data.attachments == []
    assert ledger.deliveries[0]["n"] == 0


@pytest.mark.parametrize("failing", [1, 2])
async def test_a_document_that_cannot_be_stored_delivers_nothing(failing: int) -> None:
    store, ledger = FakeStore(attachment_name(NAME, failing)), FakeLedger()
    published: list[Event] = []
    answer = await receiver(IN_MEMORY, store, ledger, published).receive(HEADERS, b"as sent")
    assert answer.status_code == 503
    assert "Retry-After" in answer.headers
    assert published == []
    assert ledger.deliveries == []
    assert ledger.released == [MESSAGE_ID]  # the resend is processed afresh


async def test_a_message_processed_again_overwrites_its_documents() -> None:
    """After a failure (or a crash) the resend stores under the same names: no duplicates."""
    store, ledger = FakeStore(attachment_name(NAME, 2)), FakeLedger()
    published: list[Event] = []
    inbound = receiver(IN_MEMORY, store, ledger, published)
    assert (await inbound.receive(HEADERS, b"as sent")).status_code == 503
    store.fail_on = None
    assert (await inbound.receive(HEADERS, b"as sent")).status_code == 200
    names = {NAME, attachment_name(NAME, 1), attachment_name(NAME, 2), f"{NAME}/as-received"}
    assert set(store.objects) == names
    assert store.puts.count(NAME) == 2  # stored twice, in one place
    assert len(published) == 1


def spooled_message() -> tuple[as2.ReceivedMessage, CountedFile, CountedFile]:
    """The first document and one attachment in one file, another attachment in its own."""
    shared = CountedFile(b"....FIRST-DOC|SECOND|")
    own = CountedFile(b"THIRD")
    message = received(
        payload_file=as2.SpooledPayload(shared, 4, 9),
        attachments=(
            as2.ReceivedAttachment("b.csv", "text/csv",
                                   payload_file=as2.SpooledPayload(shared, 14, 6)),
            as2.ReceivedAttachment("c.bin", "application/octet-stream",
                                   payload_file=as2.SpooledPayload(own, 0, 5)),
        ),
    )  # fmt: skip
    return message, shared, own


@pytest.mark.parametrize("fail", [False, True])
async def test_documents_in_files_are_streamed_and_each_file_closed_once(fail: bool) -> None:
    message, shared, own = spooled_message()
    store = FakeStore(attachment_name(NAME, 2) if fail else None)
    ledger, published = FakeLedger(), list[Event]()
    answer = await receiver(message, store, ledger, published).receive(HEADERS, b"as sent")
    assert answer.status_code == (503 if fail else 200)
    assert (shared.closes, own.closes) == (1, 1)
    assert store.objects[NAME] == b"FIRST-DOC"
    assert store.objects[attachment_name(NAME, 1)] == b"SECOND"
    if not fail:
        assert store.objects[attachment_name(NAME, 2)] == b"THIRD"


def test_closing_the_documents_closes_every_distinct_file_once() -> None:
    message, shared, own = spooled_message()
    close_documents(message)
    assert (shared.closes, own.closes) == (1, 1)
    close_documents(received(b"in memory"))  # nothing to close: no error


def test_attachment_names_sit_beside_the_first_document_from_one() -> None:
    assert attachment_name("in/x", 1) == "in/x/attachment-1"
    assert attachment_name("in/x", 12) != attachment_name("in/x", 1)
    with pytest.raises(ValueError, match="from 1"):
        attachment_name("in/x", 0)
