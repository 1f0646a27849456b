"""What outbound-svc's use cases need from the world, as ports: the messages (repository and
unit of work), the object store, the key material, the partner's HTTP endpoint. The real
adapters (adapters/, shared.bus) and the in-memory fakes of the tests both fit them; one set
of contract tests runs against both, so a fake cannot drift from what it stands for."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from types import TracebackType
from typing import BinaryIO, Protocol, Self

from as2bus.contracts import DocumentRef, Event, KeyMaterialEntry, PartnerState
from as2bus.outbound.domain import Backlog, Message
from as2bus.outbound.posting import Body, ClientIdentity, PostResult
from as2bus.shared.keyring import KeyRing


class DuplicateRequestError(Exception):
    """A message for this request id exists already (accepted here or by another replica)."""


class MessageRepository(Protocol):
    async def get(self, message_id: str) -> Message | None:
        """The message with this AS2 Message-ID."""

    async def of_request(self, request_id: str) -> Message | None:
        """The message a send request was accepted as."""

    async def add(self, message: Message) -> None:
        """A new message; DuplicateRequestError when its request id is taken (the unit of
        work is then to be left without committing)."""

    async def save(self, message: Message) -> bool:
        """Store the message's changes if it is still as it was read (``persisted``); False
        when another replica changed it meanwhile (the changes are then not stored)."""

    async def mdn_overdue(self, now: datetime) -> list[Message]:
        """Messages awaiting an async MDN whose deadline is before ``now``."""

    async def backlog(self, now: datetime) -> list[Backlog]:
        """How many messages each partner has in each unsettled status (those with none are
        left out), and of those awaiting an async MDN how many are past their deadline."""


class UnitOfWork(Protocol):
    """One transaction: the messages' changes and the events that report them (the outbox)
    are committed together or not at all. Leaving it without ``commit`` rolls back."""

    @property
    def messages(self) -> MessageRepository: ...

    def publish(self, *events: Event) -> None:
        """Publish ``events`` once (and only if) this unit of work commits."""

    async def commit(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


UnitsOfWork = Callable[[], UnitOfWork]


class Documents(Protocol):
    """The object store as the use cases use it (shared.bus.documents.DocumentStore)."""

    async def put(self, name: str, data: bytes) -> DocumentRef: ...

    async def get(self, ref: DocumentRef) -> bytes: ...

    def chunks(self, ref: DocumentRef) -> AsyncIterator[bytes]: ...

    async def stored(self, name: str) -> tuple[int, str | None] | None:
        """(size, SHA-256 hex or None when the store kept none), or None when absent."""

    async def keep_mdn(
        self, original_message_id: str, headers: list[tuple[str, str]], body: bytes
    ) -> DocumentRef | None: ...

    async def keep_http_message(
        self, name: str, headers: list[tuple[str, str]], body: bytes | BinaryIO, *, what: str
    ) -> DocumentRef | None: ...

    async def delete(self, name: str) -> bool: ...


class KeyMaterial(Protocol):
    """Our keys and the partners' certificates (shared.bus.keys.KeyMaterialClient)."""

    async def keyring(self, *, fresh: bool = False) -> KeyRing: ...

    def private_key_pem(self, entry: KeyMaterialEntry) -> bytes: ...


class Partners(Protocol):
    """The partners' AS2 endpoints (adapters.partner_http.PartnerHttp)."""

    async def post(
        self,
        partner: PartnerState,
        headers: dict[str, str],
        body: Body,
        *,
        identity: ClientIdentity | None = None,
    ) -> PostResult:
        """POST a message (presenting ``identity`` as our TLS client certificate, when the
        partner's TLS settings want it); the result says whether it was taken and, if not,
        why."""
