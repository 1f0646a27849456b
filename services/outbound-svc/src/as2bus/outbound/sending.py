"""One send attempt of a claimed message: build with the codec, POST, and settle the outcome.

Every outcome is one transition of the message (domain/message.py), saved with its events in
one unit of work, and only while we still own the message (``sending`` at our attempt
number): a replica whose lease ran out cannot overwrite the outcome of the replica that took
the message over.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from as2bus import as2
from as2bus.as2.streaming import BoundaryInContentError, Streamer, StreamPlan
from as2bus.contracts import (
    DocumentRef,
    Event,
    MdnFacts,
    MdnReceived,
    MdnReport,
    MessageSent,
    PartnerState,
    SendAttempt,
    SendOverrides,
    judge_mdn,
)
from as2bus.outbound.as_sent import AsSentCopy
from as2bus.outbound.domain import Message, Status, backoff
from as2bus.outbound.domain.documents import Document, documents_of
from as2bus.outbound.metrics import ATTEMPTS, FAILED, IN_FLIGHT, SENT, TIME_TO_MDN
from as2bus.outbound.parties import (
    PartnershipUnavailableError,
    Sides,
    can_stream,
    mdn_signature,
    resolve_sides,
)
from as2bus.outbound.ports import Documents, KeyMaterial, Partners, UnitsOfWork
from as2bus.outbound.posting import Upload, cut_short
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.crypto import certificate_fingerprint
from as2bus.shared.keyring import CertificateUnavailableError
from as2bus.shared.offload import run_sized
from as2bus.shared.tracing import as2_span

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


class Sender:
    def __init__(
        self,
        units_of_work: UnitsOfWork,
        config: ConfigReplica,
        keys: KeyMaterial,
        documents: Documents,
        http: Partners,
        policy: Policy,
        *,
        clock: Callable[[], datetime],
        new_file: Callable[[], BinaryIO] | None = None,
    ) -> None:
        self._units_of_work = units_of_work
        self._new_file = new_file  # for the copies of streamed messages as sent
        self._config = config
        self._keys = keys
        self._documents = documents
        self._http = http
        self._policy = policy
        self._clock = clock

    async def send(self, message: Message) -> Status:
        """Send a claimed message once; its status after this attempt. ``message`` stays as
        claimed: ``crashed`` and ``release`` start again from the claim, never from an outcome
        that was half made when the attempt broke or was cancelled."""
        IN_FLIGHT.labels(message.partner).inc()
        ATTEMPTS.labels(message.partner).inc()
        try:
            with as2_span(
                "outbound-svc send",
                message_id=message.message_id,
                partner=message.partner,
                station=message.station,
            ):
                return await self._send(copy.copy(message))
        finally:
            IN_FLIGHT.labels(message.partner).dec()

    def _max_attempts(self, partner: PartnerState | None) -> int:
        return (partner.max_attempts if partner else None) or self._policy.max_attempts

    async def crashed(self, message: Message, err: BaseException) -> Status:
        """An attempt broke in an unforeseen way: count it like a failed attempt."""
        reason = f"unexpected error: {type(err).__name__}: {err}"[:500]
        message = copy.copy(message)
        partner = next(
            (p for p in self._config.partners.values() if p.as2_id == message.partner), None
        )
        if message.may_retry(self._max_attempts(partner)):
            return await self._retry(message, reason)
        return await self._fail(message, "unexpected-error", reason)

    async def release(self, message: Message) -> bool:
        """Give back the lease of an attempt a clean stop interrupted, so the message is
        due again now (another replica, or this one once started again) instead of when the
        lease runs out. The attempt may have reached the partner: the next one sends the same
        Message-ID, which the partner recognises. False when the attempt had settled already
        (or the lease was no longer ours)."""
        claimed = copy.copy(message)
        return await self._save(claimed, [claimed.release(self._clock())])

    async def _send(self, message: Message) -> Status:
        overrides = SendOverrides.model_validate(message.overrides) if message.overrides else None
        try:
            sides = await resolve_sides(
                self._config,
                self._keys,
                message.station,
                message.partner,
                overrides,
                async_mdn_url=self._policy.async_mdn_url,
                at=self._clock(),
            )
        except PartnershipUnavailableError as err:
            return await self._fail(message, "partnership-unavailable", str(err))
        except CertificateUnavailableError as err:
            return await self._fail(message, "certificate-unavailable", str(err))
        except as2.PartnershipConfigError as err:  # accepted before it was so: no retry helps
            return await self._fail(message, "partnership-unavailable", str(err))
        documents = documents_of(message)  # the first, then its attachments
        size = sum(d.size for d in documents)
        if size > self._policy.max_in_memory_bytes and not can_stream(sides):
            what = "the document" if len(documents) == 1 else f"the {len(documents)} documents"
            return await self._fail(
                message,
                "document-too-large-for-memory",
                f"{what} ({size} bytes) would be built in memory (the partner's token "
                "goes in a form around the message) and exceeds "
                f"AS2BUS_OUTBOUND_MAX_IN_MEMORY_BYTES ({self._policy.max_in_memory_bytes}); "
                "raise the limit with the memory limit, or ask the partner for a token header",
            )
        try:
            built, body = await self._build(message, sides, documents)
        except as2.PartnershipConfigError as err:  # the codec's check_sides: likewise
            return await self._fail(message, "partnership-unavailable", str(err))
        copy = AsSentCopy(
            self._documents,
            message.message_id,
            built,
            body,
            keep=self._policy.keep_sent_messages,
        )
        copy.start()
        raw: DocumentRef | None = None
        try:
            result = cut_short(
                await self._http.post(
                    sides.partner, built.headers, body, identity=sides.tls_identity
                ),
                body,
            )
            taken = result.error is None and result.response is not None
            raw = await copy.taken() if taken else None
        except BoundaryInContentError as err:
            # Read once, a document is searched for its MIME boundary while it is sent (a
            # chance below 2^-80 per terabyte): the partner got less than the Content-Length,
            # and the next attempt is built with new boundaries.
            reason = f"{err}; the attempt was broken off and the next uses new boundaries"
            if message.may_retry(self._max_attempts(sides.partner)):
                return await self._retry(message, reason)
            return await self._fail(message, "attempts-exhausted", reason)
        finally:
            if raw is None:
                await copy.drop()
            if isinstance(body, Upload):
                body.close()
        if result.error is not None or result.response is None:
            reason, status = result.error or "no answer", result.http_status
            if result.retryable and message.may_retry(self._max_attempts(sides.partner)):
                return await self._retry(message, reason, status)
            if result.retryable:
                counted = message.attempts - message.stopped_attempts
                attempts = f"{counted} attempt{'s' if counted != 1 else ''}"
                reason = f"{reason}; gave up after {attempts}"
                return await self._fail(message, "attempts-exhausted", reason, http_status=status)
            return await self._fail(message, "partner-refused", reason, http_status=status)
        message.keep_as_sent(raw)
        mode = sides.remote.mdn_mode
        # built.mic from here on only: a plan made ahead knows it once the body went out whole
        sent = SendAttempt(
            request_id=message.request_id,
            message_id=message.message_id,
            station=message.station,
            partner=message.partner,
            attempt=message.attempts,
            http_status=result.response.status_code,
            mdn_mode=mode or "none",
            mic=built.mic,
            mdn_signature=mdn_signature(sides.remote),
            headers=dict(built.headers),
            posted_to=result.redirected_to,
            signed_with=certificate_fingerprint(sides.local.signing.cert_pem)
            if sides.remote.signing and sides.local.signing
            else None,
            encrypted_for=certificate_fingerprint(sides.remote.encrypt_cert)
            if sides.remote.encryption and sides.remote.encrypt_cert
            else None,
            raw=raw,
        )
        sent_event = MessageSent(correlation_id=message.message_id, data=sent)
        if mode is None:  # the partner's 2xx is the delivery
            delivered = message.delivered_without_mdn(self._clock())
            return await self._finish(message, [sent_event, delivered])
        if mode == "async":
            wait = sides.partner.async_mdn_deadline_seconds
            now = self._clock()
            deadline = now + (timedelta(seconds=wait) if wait else self._policy.async_mdn_deadline)
            signature = mdn_signature(sides.remote)
            message.await_mdn(mic=built.mic, signature=signature, deadline=deadline, now=now)
            return await self._finish(message, [sent_event])
        return await self._settle_sync(message, sides, built, result.response, sent_event)

    async def _build(
        self, message: Message, sides: Sides, documents: Sequence[Document]
    ) -> tuple[as2.OutgoingMessage | StreamPlan, bytes | Upload]:
        """The message to POST: in memory, or for large documents a plan and a body that
        reads them, chunk by chunk, for every pass over it (and keeps a copy of what it
        sent, if wanted). The plan is made ahead when the codec can (``single_pass``): the
        documents are read once, as sent, and the plan's MIC is known after the upload;
        compressed or canonicalized, a first reading measures them. ``documents`` are the
        first and its attachments (RFC 6362), each kept in the message's row (small inline
        ones) or in the object store."""
        first, *attachments = documents
        options: dict[str, Any] = {
            "filename": first.filename,
            "content_type": first.content_type,
            "subject": message.subject,
            "message_id": message.message_id,
            "receipt_to": sides.receipt_to,
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
            if streamer.single_pass:
                plan = streamer.plan_ahead()
            else:
                async for chunk in self._chunks(documents):
                    streamer.digest(chunk)
                plan = streamer.plan()
            readings = "one reading" if streamer.single_pass else "two readings"
            log.info(
                "streaming %s (%d bytes, %s) to %s",
                message.message_id,
                size,
                readings,
                message.partner,
            )
            return plan, Upload(
                plan,
                lambda: self._chunks(documents),
                keep_copy=self._policy.keep_sent_messages,
                new_file=self._new_file,
            )
        if stored and size >= self._policy.stream_bytes:
            log.warning(
                "building %s (%d bytes) for %s in memory, about 6x its size at the peak: "
                "a token in the body (a form around the message) is not streamed",
                message.message_id,
                size,
                message.partner,
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
        message: Message,
        sides: Sides,
        built: as2.OutgoingMessage | StreamPlan,
        response: Any,
        sent: MessageSent,
    ) -> Status:
        events: list[Event] = [sent]
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
            detail = f"HTTP {response.status_code}, {err}"
            return await self._unreadable(message, sides, detail, response.status_code, events)
        if not _same_message_id(mdn.original_message_id, message.message_id):
            detail = f"the MDN is for another message, {mdn.original_message_id}"
            return await self._unreadable(message, sides, detail, response.status_code, events)
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
        raw = await self._documents.keep_mdn(message.message_id, raw_headers, response.content)
        facts = MdnFacts(mdn.disposition, mdn.modifier, mdn.signed, mdn.signature_valid, mdn.mic)
        # Judged by what MessageSent says we asked for: tracklog-svc and the CLI judge the same.
        asked = sent.data
        verdict = judge_mdn(facts, signature=asked.mdn_signature, expected_mic=asked.mic)
        TIME_TO_MDN.labels(message.partner).observe(
            (self._clock() - message.created_at).total_seconds()
        )
        report = MdnReport(
            original_message_id=message.message_id,
            request_id=message.request_id,
            station=message.station,
            partner=message.partner,
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
        events.append(MdnReceived(correlation_id=message.message_id, data=report))
        message.keep_mdn(raw)
        message.mic = built.mic
        if verdict.status == "failed":
            FAILED.labels(message.partner, verdict.code or "mdn-failed").inc()
            log.warning("%s to %s failed: %s", message.message_id, message.partner, verdict.reason)
        else:
            SENT.labels(message.partner, verdict.status).inc()
        events.append(
            message.settle(verdict, report, self._clock(), http_status=response.status_code)
        )
        return await self._finish(message, events)

    async def _unreadable(
        self, message: Message, sides: Sides, detail: str, status: int, events: list[Event]
    ) -> Status:
        """A 2xx without a receipt we can read for this message: the partner may have the
        document. Sent again like after any retryable error (backoff, the same Message-ID,
        counted towards max_attempts), then failed saying so (Message.receipt_unreadable)."""
        now = self._clock()
        policy = self._policy
        when = now + backoff(message.attempts, policy.backoff_seconds, policy.backoff_max_seconds)
        outcome = message.receipt_unreadable(
            detail,
            max_attempts=self._max_attempts(sides.partner),
            retry_at=when,
            now=now,
            http_status=status,
        )
        if message.status == "failed":
            FAILED.labels(message.partner, "mdn-unreadable").inc()
        log.warning("%s to %s: %s", message.message_id, message.partner, outcome.data.reason)
        return await self._finish(message, [*events, outcome])

    async def _retry(self, message: Message, reason: str, http_status: int | None = None) -> Status:
        """``http_status``: the partner's answer, when it answered over HTTP."""
        now = self._clock()
        policy = self._policy
        when = now + backoff(message.attempts, policy.backoff_seconds, policy.backoff_max_seconds)
        retry = message.retry(reason, when, now, http_status=http_status)
        return await self._finish(message, [retry])

    async def _fail(
        self,
        message: Message,
        code: str,
        reason: str,
        events: list[Event] | None = None,
        *,
        http_status: int | None = None,
    ) -> Status:
        FAILED.labels(message.partner, code).inc()
        log.warning("%s to %s failed: %s", message.message_id, message.partner, reason)
        failed = message.fail(code, reason, self._clock(), http_status=http_status)
        return await self._finish(message, [*(events or []), failed])

    async def _finish(self, message: Message, events: list[Event]) -> Status:
        if not await self._save(message, events):
            log.warning(
                "%s was taken over by another replica; dropping this outcome", message.message_id
            )
        return message.status

    async def _save(self, message: Message, events: list[Event]) -> bool:
        """Store the attempt's outcome with its events; False when the attempt is no longer
        ours (another replica claimed the message after our lease ran out)."""
        async with self._units_of_work() as uow:
            if not await uow.messages.save(message):
                return False
            uow.publish(*events)
            await uow.commit()
        return True


def _same_message_id(named: str, ours: str) -> bool:
    """Whether an MDN's Original-Message-ID names our message (angle brackets, spaces and
    case aside: some partners change them)."""
    return named.strip().strip("<>").strip().lower() == ours.strip().strip("<>").strip().lower()
