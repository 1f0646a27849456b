"""Accepting a send request: everything that can be checked before sending is checked here,
so a request that cannot succeed is refused at once with a reason a person can act on."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

import pydantic_core
from pydantic import ValidationError

from as2bus.as2 import PartnershipConfigError, check_sides
from as2bus.contracts import (
    DOCUMENTS_BUCKET,
    MAX_ATTACHMENTS,
    DocumentRef,
    MessageQueued,
    MessageRejected,
    OutboundMessage,
    QueuedAttachment,
    Rejection,
    SendAttachment,
    SendRequest,
)
from as2bus.contracts.outbound import DEFAULT_SUBJECT, MAX_REQUEST_ID_LENGTH
from as2bus.outbound.domain import Message, new_message_id
from as2bus.outbound.domain.documents import Document, attachments_column, kept_content
from as2bus.outbound.parties import PartnershipUnavailableError, current_sides, resolve_sides
from as2bus.outbound.ports import Documents, DuplicateRequestError, KeyMaterial, UnitsOfWork
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.keyring import CertificateUnavailableError

Outcome = Literal["queued", "duplicate", "rejected"]

#: The request id of a body that is not JSON, when it can still be read there.
_REQUEST_ID = re.compile(rb'"request_id"\s*:\s*"([^"\\]{1,%d})"' % MAX_REQUEST_ID_LENGTH)
#: The longest Nats-Msg-Id a refusal echoes, for a body without a valid request id.
_ECHOED_MSG_ID = 1000


#: A send request's fields when fingerprints were first kept, in their order then. Fields
#: added since count when they are set (``attachments``: when there are any), so a request
#: accepted before they existed is still the same request when it comes again.
_FINGERPRINTED = (
    "request_id",
    "station",
    "partner",
    "document",
    "inline_base64",
    "filename",
    "content_type",
    "subject",
    "overrides",
    "replays",
)


def fingerprint(request: SendRequest) -> str:
    """The request's content, whatever its JSON's key order or spacing: a repeat with the
    same content (attachments included) is the same request."""
    fields = request.model_dump(mode="json")
    content = {name: fields.pop(name) for name in _FINGERPRINTED}
    # Before partners' default subjects, a request without one had "AS2 Message": so it is
    # fingerprinted still, and a retry across the upgrade is the same request.
    content["subject"] = content["subject"] if request.subject is not None else DEFAULT_SUBJECT
    content.update(request.model_dump(mode="json", include=set(fields), exclude_defaults=True))
    return hashlib.sha256(pydantic_core.to_json(content)).hexdigest()


def _which(index: int, attachment: SendAttachment) -> str:
    """An attachment as a refusal names it: its place in the request and its filename."""
    name = repr(attachment.filename) if attachment.filename else "no filename"
    return f"attachments.{index} ({name})"


def problems(err: ValidationError) -> str:
    """pydantic's errors as one line a publisher can act on, in the guide's words."""

    def one(error: Any) -> str:
        where = ".".join(map(str, error["loc"])) or "the request"
        if error["type"] == "extra_forbidden":
            return f"unknown field {where}"
        if error["type"] == "missing":
            return f"missing field {where}"
        if error["type"] == "too_long" and where == "attachments":
            documents = error["ctx"]["actual_length"] + 1
            return (
                f"attachments: a message holds at most {MAX_ATTACHMENTS} documents, the first "
                f"and {MAX_ATTACHMENTS - 1} attachments; this request has {documents}"
            )
        return f"{where}: {_said(error)}"

    return "; ".join(one(e) for e in err.errors())[:1000]


#: pydantic's sentences for a wrong type, as the guide says it.
_TYPES = {
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "model_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "list_type": "must be a list",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
}


def _said(error: Any) -> str:
    if error["type"] in _TYPES:
        return _TYPES[error["type"]]
    if error["type"] == "string_too_long":
        return f"at most {error['ctx']['max_length']} characters, not {len(error['input'])}"
    said = str(error["msg"]).removeprefix("Value error, ")
    return "must be " + said.removeprefix("Input should be ") if said.startswith("Input") else said


def _text(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) and value else None


def _request_id(value: Any) -> str | None:
    """A body's request id when it is a valid one; never cut short, since a shortened id
    could be another request's."""
    valid = isinstance(value, str) and 0 < len(value) <= MAX_REQUEST_ID_LENGTH
    return value if valid else None


class Acceptor:
    def __init__(
        self,
        units_of_work: UnitsOfWork,
        config: ConfigReplica,
        keys: KeyMaterial,
        documents: Documents,
        *,
        max_document_bytes: int,
        keep_in_database_bytes: int = 0,
        async_mdn_url: str | None = None,
        clock: Callable[[], datetime],
    ) -> None:
        self._units_of_work = units_of_work
        self._config = config
        self._keys = keys
        self._documents = documents
        self._max_bytes = max_document_bytes
        self._keep_in_database_bytes = keep_in_database_bytes
        self._async_mdn_url = async_mdn_url  # AS2BUS_OUTBOUND_ASYNC_MDN_URL, as the sender has it
        self._clock = clock

    async def accept_raw(self, raw: bytes, msg_id: str | None = None) -> Outcome:
        """A command as it came off the bus: anything but a valid SendRequest is refused at
        once, with the request_id (and station, partner) whenever the body has them, else
        with the ``msg_id`` it was published with (its Nats-Msg-Id: the publisher's id)."""
        echoed = msg_id if msg_id and len(msg_id) <= _ECHOED_MSG_ID else None
        try:
            body = json.loads(raw)
        except ValueError as err:
            found = _REQUEST_ID.search(raw)
            request_id = found.group(1).decode(errors="replace") if found else None
            await self._reject(
                request_id, None, None, "INVALID_JSON", f"not JSON: {err}",
                nats_msg_id=None if request_id else echoed,
            )  # fmt: skip
            return "rejected"
        if not isinstance(body, dict):
            reason = "a send request is a JSON object"
            await self._reject(None, None, None, "INVALID_JSON", reason, nats_msg_id=echoed)
            return "rejected"
        try:
            request = SendRequest.model_validate(body)
        except ValidationError as err:
            request_id = _request_id(body.get("request_id"))
            station, partner, filename = (
                _text(body.get(name)) for name in ("station", "partner", "filename")
            )
            await self._reject(
                request_id, station, partner, "INVALID_REQUEST", problems(err),
                filename=filename, nats_msg_id=None if request_id else echoed,
            )  # fmt: skip
            return "rejected"
        return await self.accept(request)

    async def accept(self, request: SendRequest) -> Outcome:
        def reject(code: str, reason: str) -> Awaitable[Outcome]:
            return self._refuse(request, code, reason)

        # Cheapest first: the configuration, then the documents, then the certificates.
        try:
            await current_sides(self._config, request.station, request.partner)
        except PartnershipUnavailableError as err:
            return await reject("UNKNOWN_PARTNERSHIP", str(err))
        # Every document like the first: the first, then the attachments in order.
        documents: list[Document] = []
        requested: list[SendRequest | SendAttachment] = [request, *request.attachments]
        for index, fields in enumerate(requested):
            checked = await self._check_document(fields)
            if isinstance(checked, Document):
                documents.append(checked)
                continue
            code, reason = checked
            if isinstance(fields, SendAttachment):
                reason = f"{_which(index - 1, fields)}: {reason}"
            return await reject(code, reason)
        total = sum(d.size for d in documents)
        if total > self._max_bytes:  # each is within the limit: there are several
            return await reject(
                "DOCUMENT_TOO_LARGE",
                f"the {len(documents)} documents have {total} bytes together; the limit is "
                f"{self._max_bytes}",
            )
        try:
            sides = await resolve_sides(
                self._config,
                self._keys,
                request.station,
                request.partner,
                request.overrides,
                async_mdn_url=self._async_mdn_url,
                at=self._clock(),
            )
        except PartnershipUnavailableError as err:
            return await reject("UNKNOWN_PARTNERSHIP", str(err))
        except CertificateUnavailableError as err:
            return await reject(err.reason, err.sentence)
        except PartnershipConfigError as err:  # overrides: config-svc keeps the rest consistent
            return await reject("INVALID_REQUEST", str(err))
        # The request's subject, else the partner's default (OpenAS2's per-partnership one).
        subject = request.subject
        if subject is None:
            subject = sides.partner.default_subject or DEFAULT_SUBJECT
        try:  # what the codec would refuse to build: refused now, not after retries
            check_sides(
                sides.local,
                sides.remote,
                content_type=request.content_type,
                subject=subject,
            )
        except ValueError as err:  # PartnershipConfigError too; or a subject of several lines
            return await reject("INVALID_REQUEST", str(err))
        inline = sum(d.size for d in documents if d.kept is not None)
        if inline > self._keep_in_database_bytes:
            # Too much for the message's row: the inline documents go to the object store.
            previous = await self._previous(request.request_id)
            if previous is not None:  # before storing copies nobody would ever read
                return await self._repeated(request, previous)
            documents = [await self._store(d) for d in documents]
        # else kept in the message's row: no object-store round trips
        return await self._queue(request, documents, subject)

    async def _check_document(
        self, fields: SendRequest | SendAttachment
    ) -> Document | tuple[str, str]:
        """One document of the request, checked (the problem's code and reason when it
        cannot be sent): an inline one decoded, a stored one as ``_check_stored`` wants it."""
        inline = fields.inline_bytes()
        if inline is not None:
            if len(inline) > self._max_bytes:
                return "DOCUMENT_TOO_LARGE", f"{len(inline)} bytes; the limit is {self._max_bytes}"
            return Document(fields.filename, fields.content_type, len(inline), kept=inline)
        assert fields.document is not None  # the contract: exactly one of the two
        problem = await self._check_stored(fields.document)
        if problem is not None:
            return problem
        ref = fields.document
        return Document(fields.filename, fields.content_type, ref.size, ref=ref)

    async def _store(self, document: Document) -> Document:
        """An inline document into the object store (one object per document)."""
        if document.kept is None:
            return document
        ref = await self._documents.put(f"out/{uuid.uuid4()}", document.kept)
        return Document(document.filename, document.content_type, document.size, ref=ref)

    async def _check_stored(self, ref: DocumentRef) -> tuple[str, str] | None:
        """A referenced document must be there, as the reference describes it: found now, not
        after a quarter of an hour of retries."""
        if ref.bucket != DOCUMENTS_BUCKET:
            return "DOCUMENT_NOT_FOUND", (
                f"documents are read from the bucket {DOCUMENTS_BUCKET!r}, not {ref.bucket!r}"
            )
        stored = await self._documents.stored(ref.name)
        if stored is None:
            return "DOCUMENT_NOT_FOUND", f"no object {ref.name!r} in the bucket {ref.bucket!r}"
        size, sha256 = stored
        if size != ref.size:
            return "DOCUMENT_MISMATCH", (
                f"the object {ref.name!r} has {size} bytes; the request says {ref.size}"
            )
        if sha256 is not None and sha256 != ref.sha256:
            return "DOCUMENT_MISMATCH", (
                f"the object {ref.name!r} has the SHA-256 {sha256}; the request says {ref.sha256}"
            )
        if size > self._max_bytes:
            return "DOCUMENT_TOO_LARGE", f"{size} bytes; the limit is {self._max_bytes}"
        return None

    async def _previous(self, request_id: str) -> Message | None:
        """The message a request id was accepted as before, if it was."""
        async with self._units_of_work() as uow:
            return await uow.messages.of_request(request_id)

    async def _repeated(self, request: SendRequest, previous: Message) -> Outcome:
        """The same request again is the same request: its first events stand. Another body
        under a used request id is refused, never dropped in silence."""
        if previous.request_sha256 in (None, fingerprint(request)):  # None: accepted before
            return "duplicate"  # fingerprints were kept
        await self._reject(
            request.request_id,
            request.station,
            request.partner,
            "REQUEST_ID_REUSED",
            f"the request id {request.request_id!r} was used on "
            f"{previous.created_at:%Y-%m-%d %H:%M:%S}Z for another request (Message-ID "
            f"{previous.message_id}); give each document its own request id",
            filename=request.filename,
            # The message that stands: the refusal is told on its row (tracklog-svc), not as
            # a second message under the same request id.
            message_id=previous.message_id,
        )
        return "rejected"

    async def _queue(
        self, request: SendRequest, documents: list[Document], subject: str
    ) -> Outcome:
        """One transaction: the message and MessageQueued. A request id seen before fails on
        its unique index: that is how a duplicate is told, with no read first."""
        now = self._clock()
        message_id = new_message_id(request.station)
        first = documents[0]
        message = Message(
            id=uuid.uuid4(),
            request_id=request.request_id,
            request_sha256=fingerprint(request),
            message_id=message_id,
            station=request.station,
            partner=request.partner,
            filename=request.filename,
            content_type=request.content_type,
            subject=subject,
            document=first.ref.model_dump(mode="json") if first.ref is not None else None,
            content=kept_content(documents),
            attachments=attachments_column(documents[1:]),
            overrides=request.overrides.model_dump(mode="json") if request.overrides else None,
            status="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        queued = OutboundMessage(
            request_id=request.request_id,
            message_id=message_id,
            station=request.station,
            partner=request.partner,
            filename=request.filename,
            content_type=request.content_type,
            size=first.size,
            document=first.ref,
            replays=request.replays,
            subject=subject,
            attachments=[
                QueuedAttachment(
                    filename=d.filename, content_type=d.content_type, size=d.size, document=d.ref
                )
                for d in documents[1:]
            ],
        )
        try:
            async with self._units_of_work() as uow:
                await uow.messages.add(message)
                uow.publish(MessageQueued(correlation_id=message_id, data=queued))
                await uow.commit()
        except DuplicateRequestError:
            # The same request id, accepted before (here or by a replica).
            previous = await self._previous(request.request_id)
            if previous is None:
                raise
            return await self._repeated(request, previous)
        return "queued"

    async def _refuse(self, request: SendRequest, code: str, reason: str) -> Outcome:
        previous = await self._previous(request.request_id)
        if previous is not None:
            # Accepted before: what changed since is not this request's fault.
            return await self._repeated(request, previous)
        await self._reject(
            request.request_id,
            request.station,
            request.partner,
            code,
            reason,
            filename=request.filename,
        )
        return "rejected"

    async def _reject(
        self,
        request_id: str | None,
        station: str | None,
        partner: str | None,
        code: str,
        reason: str,
        *,
        filename: str | None = None,
        message_id: str | None = None,
        nats_msg_id: str | None = None,
    ) -> None:
        """Refuses a request in one event. ``filename``: the request's, so whoever sent it sees
        which file was refused; None for a body that could not be read. ``message_id``: only
        for a request id used before, the Message-ID of the message accepted under it.
        ``nats_msg_id``: for a body without a valid request id, the publisher's id."""
        rejection = Rejection(
            direction="outbound",
            message_id=message_id,
            request_id=request_id,
            nats_msg_id=nats_msg_id,
            station=station,
            partner=partner,
            filename=filename[:255] if filename else None,  # from a body that may be anything
            modifier=code,
            code=code,
            reason=reason[:1000],
        )
        async with self._units_of_work() as uow:
            uow.publish(MessageRejected(correlation_id=request_id, data=rejection))
            await uow.commit()
