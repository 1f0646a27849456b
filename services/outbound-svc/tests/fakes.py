"""In-memory fakes of outbound-svc's ports (ports.py) for unit tests of the use cases.

They keep the promises the real adapters keep, and test_message_store_contract.py runs the
same tests against both: a save finds the version it read or changes nothing, a request id
is taken once, nothing is visible (messages or events) until the unit of work commits.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from types import TracebackType
from typing import Any, BinaryIO, Self

import httpx

from as2bus.contracts import DOCUMENTS_BUCKET, DocumentRef, Event, PartnerState
from as2bus.outbound.domain import FINAL, Backlog, Message, retryable_status
from as2bus.outbound.ports import DuplicateRequestError
from as2bus.outbound.posting import Body, ClientIdentity, PostResult, Upload
from as2bus.shared.bus.documents import mdn_object_name, raw_http_message


class MessageStore:
    """What the database holds: the messages and the events committed with them."""

    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}  # by Message-ID
        self.events: list[Event] = []
        self.commits = 0

    def of_type(self, kind: type[Event]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    def stored(self, message_id: str) -> Message:
        return copy.deepcopy(self.messages[message_id])


class FakeMessages:
    def __init__(self, store: MessageStore, staged: dict[str, Message]) -> None:
        self._store = store
        self._staged = staged

    def _current(self, message_id: str) -> Message | None:
        return self._staged.get(message_id) or self._store.messages.get(message_id)

    async def get(self, message_id: str) -> Message | None:
        found = self._current(message_id)
        return _read(found) if found is not None else None

    async def of_request(self, request_id: str) -> Message | None:
        for message in [*self._staged.values(), *self._store.messages.values()]:
            if message.request_id == request_id:
                return _read(message)
        return None

    async def add(self, message: Message) -> None:
        if await self.of_request(message.request_id) is not None:
            raise DuplicateRequestError(message.request_id)
        message.persisted = message.version
        self._staged[message.message_id] = copy.deepcopy(message)

    async def save(self, message: Message) -> bool:
        current = self._current(message.message_id)
        if current is None or current.version != message.persisted:
            return False
        saved = copy.deepcopy(message)
        # The retention's, not a save's: written once, content stays until the retention.
        saved.document_deleted_at = current.document_deleted_at
        saved.content = current.content
        self._staged[message.message_id] = saved
        message.persisted = message.version
        return True

    async def mdn_overdue(self, now: datetime) -> list[Message]:
        return [
            _read(m)
            for m in self._store.messages.values()
            if m.status == "awaiting-mdn" and m.mdn_deadline is not None and m.mdn_deadline < now
        ]

    async def backlog(self, now: datetime) -> list[Backlog]:
        counts: dict[tuple[str, str], list[int]] = {}
        for m in self._store.messages.values():
            if m.status not in FINAL:
                deadline = m.mdn_deadline if m.status == "awaiting-mdn" else None
                count = counts.setdefault((m.partner, m.status), [0, 0])
                count[0] += 1
                count[1] += deadline is not None and deadline < now
        return [Backlog(p, s, n, late) for (p, s), (n, late) in sorted(counts.items())]


def _read(message: Message) -> Message:
    found = copy.deepcopy(message)
    found.persisted = found.version
    return found


class FakeUnitOfWork:
    def __init__(self, store: MessageStore, after_commit: Callable[[], None]) -> None:
        self._store = store
        self._after_commit = after_commit
        self._staged: dict[str, Message] = {}
        self._events: list[Event] = []
        self._messages = FakeMessages(store, self._staged)

    @property
    def messages(self) -> FakeMessages:
        return self._messages

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._staged.clear()  # not committed: rolled back
        self._events.clear()

    def publish(self, *events: Event) -> None:
        self._events.extend(events)

    async def commit(self) -> None:
        self._store.messages.update(self._staged)
        self._store.events.extend(self._events)
        self._store.commits += 1
        self._staged.clear()
        self._events.clear()
        self._after_commit()


def fake_units_of_work(
    store: MessageStore, after_commit: Callable[[], None] = lambda: None
) -> Callable[[], FakeUnitOfWork]:
    return lambda: FakeUnitOfWork(store, after_commit)


class FakeDocuments:
    """The object store: bytes by name, checked against their reference like the real one."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.failing = False  # every write fails, as when the store is unavailable
        self.readings: list[str] = []  # the name of each object read in chunks, each time

    def ref(self, name: str) -> DocumentRef:
        data = self.objects[name]
        sha256 = hashlib.sha256(data).hexdigest()
        return DocumentRef(bucket=DOCUMENTS_BUCKET, name=name, size=len(data), sha256=sha256)

    async def put(self, name: str, data: bytes) -> DocumentRef:
        if self.failing:
            raise ConnectionError("the object store is unavailable")
        self.objects[name] = bytes(data)
        return self.ref(name)

    async def get(self, ref: DocumentRef) -> bytes:
        data = self.objects[ref.name]
        if len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha256:
            raise ValueError(f"document {ref.name} does not match its size and sha256")
        return data

    async def chunks(self, ref: DocumentRef) -> AsyncIterator[bytes]:
        self.readings.append(ref.name)
        data = await self.get(ref)
        for start in range(0, len(data), 128 * 1024):
            yield data[start : start + 128 * 1024]

    async def stored(self, name: str) -> tuple[int, str | None] | None:
        data = self.objects.get(name)
        return None if data is None else (len(data), hashlib.sha256(data).hexdigest())

    async def keep_mdn(
        self, original_message_id: str, headers: list[tuple[str, str]], body: bytes
    ) -> DocumentRef | None:
        name = mdn_object_name(original_message_id)
        return await self.keep_http_message(name, headers, body, what="the MDN")

    async def keep_http_message(
        self, name: str, headers: list[tuple[str, str]], body: bytes | BinaryIO, *, what: str
    ) -> DocumentRef | None:
        if isinstance(body, bytes):
            content = body
        else:  # from its start, as the real store streams it
            body.seek(0)
            content = body.read()
        try:  # like the real store: a record that cannot be kept costs the record only
            return await self.put(name, raw_http_message(headers, content))
        except ConnectionError:
            return None

    async def delete(self, name: str) -> bool:
        return self.objects.pop(name, None) is not None


Answer = Callable[[dict[str, str], bytes], httpx.Response | PostResult]


class FakePartners:
    """The partner's endpoint: ``answer`` gets each message (headers, the whole body) and
    returns the HTTP response, or a PostResult for what did not get one (a timeout)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.posted: list[tuple[dict[str, str], bytes]] = []
        self.identities: list[ClientIdentity | None] = []  # our TLS client certificate, each

    async def post(
        self,
        partner: PartnerState,
        headers: dict[str, str],
        body: Body,
        *,
        identity: ClientIdentity | None = None,
    ) -> PostResult:
        self.identities.append(identity)
        content = b"".join([chunk async for chunk in body]) if isinstance(body, Upload) else body
        self.posted.append((dict(headers), content))
        return self.outcome(self.answer(dict(headers), content))

    @staticmethod
    def outcome(answer: httpx.Response | PostResult) -> PostResult:
        """What the HTTP adapter makes of the partner's answer."""
        if isinstance(answer, PostResult):
            return answer
        if answer.is_success:
            return PostResult(answer, None, retryable=False)
        error = f"HTTP {answer.status_code}"
        return PostResult(answer, error, retryable=retryable_status(answer.status_code))
