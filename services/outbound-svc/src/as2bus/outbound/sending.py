"""One send attempt of a claimed message: build with the codec, POST, and settle the outcome.

Every state change is written together with its event (outbox) and only while we still own
the message (``status = 'sending'`` at our attempt number), so a replica whose lease ran out
cannot overwrite the outcome of the replica that took the message over.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus import as2
from as2bus.as2.streaming import Streamer, StreamPlan
from as2bus.outbound import outcomes
from as2bus.outbound.adapters.partner_http import PartnerHttp, Upload
from as2bus.outbound.adapters.tables import messages, outbox
from as2bus.outbound.documents import Document, documents_of
from as2bus.outbound.domain import FINAL, Status, backoff, settled
from as2bus.outbound.metrics import ATTEMPTS, FAILED, IN_FLIGHT, SENT, TIME_TO_MDN
from as2bus.outbound.parties import (
    PartnershipUnavailableError,
    Sides,
    can_stream,
    mdn_signature,
    resolve_sides,
)
from as2bus.shared.bus.documents import DocumentStore, sent_object_name
from as2bus.shared.bus.keys import KeyMaterialClient
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.contracts import (
    DocumentRef,
    Event,
    MdnFacts,
    MdnReceived,
    MdnReport,
    MessageRetrying,
    MessageSent,
    PartnerState,
    Retry,
    SendAttempt,
    SendOverrides,
    Verdict,
    judge_mdn,
)
from as2bus.shared.crypto import certificate_fingerprint
from as2bus.shared.keyring import CertificateUnavailableError
from as2bus.shared.offload import run_sized
from as2bus.shared.outbox import add_to_outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    backoff_seconds: float
    backoff_max_seconds: float
    async_mdn_deadline: timedelta
    async_mdn_url: str | None
    stream_bytes: int = 4 * 1024 * 1024  # documents this large are sent without holding them
    #: Larger documents that cannot be streamed fail with a reason instead of risking the
    #: process's memory (about 6-8x the document at the peak).
    max_in_memory_bytes: int = 256 * 1024 * 1024
    #: Keep each message as sent (headers and body) in the object store for the retention.
    keep_sent_messages: bool = True


STOPPED = "outbound-svc stopped during the attempt; retried at once"


#: Settles an attempt; the columns to set are the other keys of the parameters. Only while
#: the row is still ``sending`` at this attempt: our lease, not one another replica took over.
_OUTCOME = (
    sa.update(messages)
    .where(messages.c.id == sa.bindparam("row_id"))
    .where(messages.c.status == "sending")
    .where(messages.c.attempts == sa.bindparam("attempt"))
)


class Sender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: ConfigReplica,
        keys: KeyMaterialClient,
        documents: DocumentStore,
        http: PartnerHttp,
        policy: Policy,
        *,
        clock: Callable[[], datetime],
        after_commit: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._keys = keys
        self._documents = documents
        self._http = http
        self._policy = policy
        self._clock = clock
        self._after_commit = after_commit

    async def send(self, row: dict[str, Any]) -> Status:
        IN_FLIGHT.labels(row["partner"]).inc()
        ATTEMPTS.labels(row["partner"]).inc()
        try:
            return await self._send(row)
        finally:
            IN_FLIGHT.labels(row["partner"]).dec()

    def _max_attempts(self, partner: PartnerState | None) -> int:
        return (partner.max_attempts if partner else None) or self._policy.max_attempts

    def _may_retry(self, row: dict[str, Any], partner: PartnerState | None) -> bool:
        """Attempts a clean stop interrupted are not the partner's doing: they do not count."""
        counted: int = row["attempts"] - (row.get("stopped_attempts") or 0)
        return counted < self._max_attempts(partner)

    async def crashed(self, row: dict[str, Any], err: BaseException) -> Status:
        """An attempt broke in an unforeseen way: count it like a failed attempt."""
        reason = f"unexpected error: {type(err).__name__}: {err}"[:500]
        partner = next(
            (p for p in self._config.partners.values() if p.as2_id == row["partner"]), None
        )
        if self._may_retry(row, partner):
            return await self._retry(row, reason)
        return await self._fail(row, "unexpected-error", reason)

    async def release(self, row: dict[str, Any]) -> bool:
        """Give back the lease of an attempt a clean stop interrupted, so the message is
        due again now (another replica, or this one once started again) instead of when the
        lease runs out. The attempt may have reached the partner: the next one sends the same
        Message-ID, which the partner recognises. False when the attempt had settled already
        (or the lease was no longer ours)."""
        now = self._clock()
        retry = Retry(
            request_id=row["request_id"],
            message_id=row["message_id"],
            station=row["station"],
            partner=row["partner"],
            attempt=row["attempts"],
            reason=STOPPED,
            next_attempt_at=now,
        )
        event = MessageRetrying(correlation_id=row["message_id"], occurred_at=now, data=retry)
        stopped = (row.get("stopped_attempts") or 0) + 1
        values = {"next_attempt_at": now, "last_error": STOPPED, "stopped_attempts": stopped}
        return await self._write(row, "retrying", [event], **values)

    async def _send(self, row: dict[str, Any]) -> Status:
        overrides = SendOverrides.model_validate(row["overrides"]) if row["overrides"] else None
        try:
            sides = await resolve_sides(
                self._config,
                self._keys,
                row["station"],
                row["partner"],
                overrides,
                async_mdn_url=self._policy.async_mdn_url,
                at=self._clock(),
            )
        except PartnershipUnavailableError as err:
            return await self._fail(row, "partnership-unavailable", str(err))
        except CertificateUnavailableError as err:
            return await self._fail(row, "certificate-unavailable", str(err))
        documents = documents_of(row)  # the first, then its attachments
        size = sum(d.size for d in documents)
        if size > self._policy.max_in_memory_bytes and not can_stream(sides):
            what = "the document" if len(documents) == 1 else f"the {len(documents)} documents"
            return await self._fail(
                row,
                "document-too-large-for-memory",
                f"{what} ({size} bytes) would be built in memory (the partner's token "
                "goes in a form around the message) and exceeds "
                f"AS2BUS_OUTBOUND_MAX_IN_MEMORY_BYTES ({self._policy.max_in_memory_bytes}); "
                "raise the limit with the memory limit, or ask the partner for a token header",
            )
        built, body = await self._build(row, sides, documents)
        try:
            result = await self._http.post(sides.partner, built.headers, body)
            taken = result.error is None and result.response is not None
            raw = await self._keep_as_sent(row, built, body) if taken else None
        finally:
            if isinstance(body, Upload):
                body.close()
        if result.error is not None or result.response is None:
            reason = result.error or "no answer"
            if result.retryable and self._may_retry(row, sides.partner):
                return await self._retry(row, reason)
            code = "attempts-exhausted" if result.retryable else "partner-refused"
            return await self._fail(row, code, reason)
        mode = sides.remote.mdn_mode
        sent = SendAttempt(
            request_id=row["request_id"],
            message_id=row["message_id"],
            station=row["station"],
            partner=row["partner"],
            attempt=row["attempts"],
            http_status=result.response.status_code,
            mdn_mode=mode or "none",
            mic=built.mic,
            mdn_signature=mdn_signature(sides.remote),
            headers=dict(built.headers),
            signed_with=certificate_fingerprint(sides.local.signing.cert_pem)
            if sides.remote.signing and sides.local.signing
            else None,
            encrypted_for=certificate_fingerprint(sides.remote.encrypt_cert)
            if sides.remote.encryption and sides.remote.encrypt_cert
            else None,
            raw=raw,
        )
        kept_as_sent = {"sent_document": raw.model_dump(mode="json") if raw else None}
        if mode is None:  # the partner's 2xx is the delivery
            events = [
                MessageSent(correlation_id=row["message_id"], data=sent),
                outcomes.delivered(row, Verdict("delivered"), None),
            ]
            return await self._finish(row, "delivered", events, **kept_as_sent)
        if mode == "async":
            wait = sides.partner.async_mdn_deadline_seconds
            deadline = self._clock() + (
                timedelta(seconds=wait) if wait else self._policy.async_mdn_deadline
            )
            values = {
                "mic": built.mic,
                "signed_mdn": sent.mdn_signature != "none",
                "mdn_signature": sent.mdn_signature,
                "mdn_mode": "async",
                "mdn_deadline": deadline,
                **kept_as_sent,
            }
            return await self._finish(
                row,
                "awaiting-mdn",
                [MessageSent(correlation_id=row["message_id"], data=sent)],
                **values,
            )
        return await self._settle_sync(row, sides, built, result.response, sent, kept_as_sent)

    async def _keep_as_sent(
        self,
        row: dict[str, Any],
        built: as2.OutgoingMessage | StreamPlan,
        body: bytes | Upload,
    ) -> DocumentRef | None:
        """The message as the partner took it, for the console's download (never credentials:
        the AS2 headers we built, not the authorization the HTTP client adds)."""
        if not self._policy.keep_sent_messages:
            return None
        content = body if isinstance(body, bytes) else body.copy
        if content is None:
            return None
        name = sent_object_name(row["message_id"])
        headers = list(built.headers.items())
        return await self._documents.keep_http_message(name, headers, content, what="as sent")

    async def _build(
        self, row: dict[str, Any], sides: Sides, documents: Sequence[Document]
    ) -> tuple[as2.OutgoingMessage | StreamPlan, bytes | Upload]:
        """The message to POST: in memory, or for large documents a plan and a body that
        reads them again, chunk by chunk, for every attempt (and keeps a copy of what it
        sent, if wanted). ``documents`` are the first and its attachments (RFC 6362), each
        kept in the message's row (small inline ones) or in the object store."""
        first, *attachments = documents
        options: dict[str, Any] = {
            "filename": first.filename,
            "content_type": first.content_type,
            "subject": row["subject"],
            "message_id": row["message_id"],
        }
        size = sum(d.size for d in documents)
        stored = any(d.ref is not None for d in documents)
        if stored and size >= self._policy.stream_bytes and can_stream(sides):
            infos = [as2.AttachmentInfo(a.size, a.filename, a.content_type) for a in attachments]
            streamer = Streamer(
                first.size,
                sender=sides.local,
                receiver=sides.remote,
                attachments=infos,
                **options,
            )
            async for chunk in self._chunks(documents):
                streamer.digest(chunk)
            plan = streamer.plan()
            log.info("streaming %s (%d bytes) to %s", row["message_id"], size, row["partner"])
            return plan, Upload(
                plan,
                lambda: self._chunks(documents),
                keep_copy=self._policy.keep_sent_messages,
            )
        if stored and size >= self._policy.stream_bytes:
            log.warning(
                "building %s (%d bytes) for %s in memory, about 6x its size at the peak: "
                "a token in the body (a form around the message) is not streamed",
                row["message_id"],
                size,
                row["partner"],
            )
        payloads = [await self._bytes(d) for d in documents]
        options["attachments"] = [
            as2.Attachment(data, a.filename, a.content_type)
            for data, a in zip(payloads[1:], attachments, strict=True)
        ]
        return await self._build_in_memory(payloads[0], size, sides, options)

    async def _bytes(self, document: Document) -> bytes:
        if document.kept is not None:
            return document.kept
        assert document.ref is not None
        return await self._documents.get(document.ref)

    async def _chunks(self, documents: Sequence[Document]) -> AsyncIterator[bytes]:
        """Every document's bytes, one after the other, in chunks (a kept one whole)."""
        for document in documents:
            if document.kept is not None:
                if document.kept:
                    yield document.kept
                continue
            assert document.ref is not None
            async for chunk in self._documents.chunks(document.ref):
                yield chunk

    async def _build_in_memory(
        self, data: bytes, size: int, sides: Sides, options: dict[str, Any]
    ) -> tuple[as2.OutgoingMessage, bytes]:
        built = await run_sized(
            size, as2.build_message, data, sender=sides.local, receiver=sides.remote, **options
        )
        return built, built.body

    async def _settle_sync(
        self,
        row: dict[str, Any],
        sides: Sides,
        built: as2.OutgoingMessage | StreamPlan,
        response: Any,
        sent: SendAttempt,
        kept_as_sent: dict[str, Any],
    ) -> Status:
        events: list[Event] = [MessageSent(correlation_id=row["message_id"], data=sent)]
        try:
            mdn = await run_sized(
                len(response.content),
                as2.parse_mdn,
                dict(response.headers),
                response.content,
                verify_certs=sides.remote.verify_certs,
                allow_expired=sides.partner.accept_expired_mdn_certificate,
            )
        except as2.MdnError as err:
            return await self._fail(
                row,
                "mdn-unreadable",
                f"the partner answered 2xx without a readable MDN: {err}",
                events,
                **kept_as_sent,
            )
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
        raw = await self._documents.keep_mdn(row["message_id"], raw_headers, response.content)
        facts = MdnFacts(mdn.disposition, mdn.modifier, mdn.signed, mdn.signature_valid, mdn.mic)
        # Judged by what MessageSent says we asked for: tracklog-svc and the CLI judge the same.
        verdict = judge_mdn(facts, signature=sent.mdn_signature, expected_mic=sent.mic)
        TIME_TO_MDN.labels(row["partner"]).observe(
            (self._clock() - row["created_at"]).total_seconds()
        )
        report = MdnReport(
            original_message_id=row["message_id"],
            request_id=row["request_id"],
            station=row["station"],
            partner=row["partner"],
            disposition=mdn.disposition,
            modifier=mdn.modifier,
            text=mdn.text,
            mic=mdn.mic,
            mic_alg=mdn.mic_alg,
            mic_matches=verdict.mic_matches,
            signed=mdn.signed,
            signature_valid=mdn.signature_valid,
            mode="sync",
            raw=raw,
            verified_with=certificate_fingerprint(mdn.verified_by) if mdn.verified_by else None,
        )
        events.append(MdnReceived(correlation_id=row["message_id"], data=report))
        mdn_document = raw.model_dump(mode="json") if raw is not None else None
        if verdict.status == "failed":
            code = verdict.code or "mdn-failed"
            return await self._fail(
                row,
                code,
                verdict.reason or "failed",
                events,
                mdn_document=mdn_document,
                **kept_as_sent,
            )
        SENT.labels(row["partner"], verdict.status).inc()
        events.append(outcomes.delivered(row, verdict, report))
        return await self._finish(
            row,
            settled(verdict),
            events,
            mic=built.mic,
            last_error=verdict.reason,
            mdn_document=mdn_document,
            **kept_as_sent,
        )

    async def _retry(self, row: dict[str, Any], reason: str) -> Status:
        when = self._clock() + backoff(
            row["attempts"], self._policy.backoff_seconds, self._policy.backoff_max_seconds
        )
        retry = Retry(
            request_id=row["request_id"],
            message_id=row["message_id"],
            station=row["station"],
            partner=row["partner"],
            attempt=row["attempts"],
            reason=reason,
            next_attempt_at=when,
        )
        event = MessageRetrying(correlation_id=row["message_id"], data=retry)
        return await self._finish(row, "retrying", [event], next_attempt_at=when, last_error=reason)

    async def _fail(
        self,
        row: dict[str, Any],
        code: str,
        reason: str,
        events: list[Event] | None = None,
        **values: Any,
    ) -> Status:
        FAILED.labels(row["partner"], code).inc()
        log.warning("%s to %s failed: %s", row["message_id"], row["partner"], reason)
        all_events = [*(events or []), outcomes.failed(row, code, reason)]
        return await self._finish(row, "failed", all_events, last_error=reason, **values)

    async def _finish(
        self, row: dict[str, Any], status: Status, events: list[Event], **values: Any
    ) -> Status:
        if not await self._write(row, status, events, **values):
            log.warning(
                "%s was taken over by another replica; dropping this outcome", row["message_id"]
            )
        return status

    async def _write(
        self, row: dict[str, Any], status: Status, events: list[Event], **values: Any
    ) -> bool:
        """Settle the attempt with its events; False when the attempt is no longer ours."""
        if status in FINAL:
            values["content"] = None  # a kept document is not needed once settled
        values.update(status=status, lease_until=None, updated_at=self._clock())
        async with self._sessions() as session, session.begin():
            # The new values are parameters of a constant statement (see _OUTCOME).
            changed = await session.execute(
                _OUTCOME, {"row_id": row["id"], "attempt": row["attempts"], **values}
            )
            if changed.rowcount == 0:  # type: ignore[attr-defined]
                return False
            await add_to_outbox(session, outbox, *events)
        self._after_commit()
        return True
