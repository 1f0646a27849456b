"""Receiving an AS2 message: decrypt and verify, deliver once, answer with an MDN.

Order matters: the documents (a message may carry several, RFC 6362) are stored and
MessageReceived is on the bus *before* the MDN says ``processed``. If any of that fails, the
claim on the Message-ID is released and the partner is asked to send again (503), so its
resend is processed afresh; nothing is half-delivered.

An async MDN is POSTed to the URL the message names (Receipt-Delivery-Option) only for a
message the codec accepted: its signature verified against the partner's certificate or, for
a partnership that does not require signatures, processed as the partnership says (decrypted
with our key where it requires encryption). A message refused before that (unknown partner,
signature missing or not the partner's, decryption failed, ...) has not shown who sent it,
and the URL is anyone's choice: it gets its answer on the same connection, a 4xx saying why,
never a POST from us (which would let anyone make us call any address: request forgery).
Nor has a message that replay protection stops (``replay_protection``): a verified signature
posted again proves only that someone captured it. A resend of a Message-ID already claimed
(a duplicate, or a retry) has its MDN posted only to the URL the first copy named, or put in
the response when that one named none: the URL is not signed, and a captured message posted
again under a new one must not make us POST anywhere new. Where an MDN may be POSTed at all
is judged before each POST (``mdn_targets``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import BinaryIO

from as2bus import as2
from as2bus.inbound.certificate_check import refused_certificate
from as2bus.inbound.domain import (
    Answer,
    document_name,
    duplicate,
    received,
    send_again,
    shown_url,
)
from as2bus.inbound.metrics import (
    DOCUMENTS,
    DUPLICATES,
    PROCESSING,
    RECEIVED,
    REPLAYS,
    STORE_FAILURES,
)
from as2bus.inbound.parties import Parties
from as2bus.inbound.ports import (
    DocumentStorage,
    MdnQueue,
    MessageLedger,
    PartyDirectory,
    Publish,
)
from as2bus.inbound.replay_protection import Held, ReplayProtection, Verdict
from as2bus.inbound.replies import Replies
from as2bus.inbound.reports import Reports
from as2bus.inbound.storing import Storing, close_documents
from as2bus.shared.offload import INLINE_BYTES, run_sized
from as2bus.shared.tracing import tag_span

log = logging.getLogger(__name__)


class Receiver:
    def __init__(
        self,
        parties: PartyDirectory,
        ledger: MessageLedger,
        documents: DocumentStorage,
        mdns: MdnQueue,
        publish: Publish,
        *,
        replays: ReplayProtection,
        max_payload_bytes: int,
        keep_received_messages: bool = True,
        new_file: Callable[[], BinaryIO] | None = None,
    ) -> None:
        self._parties = parties
        self._ledger = ledger
        self._storing = Storing(documents, keep_received=keep_received_messages)
        self._publish = publish
        self._reports = Reports(publish)
        self._replies = Replies(parties, mdns, self._reports)
        self._replays = replays
        self._max_payload = max_payload_bytes
        self._new_file = new_file  # makes the codec's temporary files (None: its default)

    async def reported(self) -> None:
        """Once the events reporting on the messages answered so far are published (the
        answers do not wait for them: reports.py)."""
        await self._reports.flushed()

    async def receive(
        self,
        headers: Mapping[str, str],
        body: bytes | BinaryIO,
        client_certificate: bytes | None = None,
    ) -> Answer:
        """Answer a message; ``body`` is the request body, or a file holding a large one;
        ``client_certificate`` the TLS client certificate (DER) of its connection, if any."""
        started = time.perf_counter()
        summary = as2.summarize_request(headers)
        if not (summary.message_id and summary.as2_from and summary.as2_to):
            return Answer.text(
                400, "not an AS2 message: Message-ID, AS2-From and AS2-To are required"
            )
        tag_span(message_id=summary.message_id, partner=summary.as2_from, station=summary.as2_to)
        try:
            parties = await self._parties.resolve(summary.as2_from, summary.as2_to)
        except as2.As2Error as err:
            return await self._replies.reject(summary, err, None)
        refused = refused_certificate(self._parties, parties.partner, client_certificate)
        if refused is not None:
            return await self._replies.refuse_connection(summary, refused)
        try:
            size = len(body) if isinstance(body, bytes) else INLINE_BYTES + 1  # a file: large
            message = await run_sized(size, self._parse, headers, body, parties)
        except as2.As2Error as err:
            return await self._replies.reject(summary, err, parties)
        try:
            answer = await self._deliver(message, parties, headers, body)
        finally:
            close_documents(message)
        PROCESSING.labels(parties.partner.as2_id).observe(time.perf_counter() - started)
        return answer

    def _parse(
        self, headers: Mapping[str, str], body: bytes | BinaryIO, parties: Parties
    ) -> as2.ReceivedMessage:
        """Decrypt and verify, from memory or, for a large body, from its file (the same
        parser either way: a large document stays on disk)."""

        def lookup(_from: str, _to: str) -> tuple[as2.LocalParty, as2.RemoteParty]:
            return parties.local, parties.remote

        if isinstance(body, bytes):
            return as2.parse_message(
                headers, body, lookup=lookup, max_payload_bytes=self._max_payload
            )
        return as2.parse_spooled(
            headers,
            body,
            lookup=lookup,
            max_payload_bytes=self._max_payload,
            new_file=self._new_file,
        )

    async def _deliver(
        self,
        message: as2.ReceivedMessage,
        parties: Parties,
        headers: Mapping[str, str],
        body: bytes | BinaryIO,
    ) -> Answer:
        partner, station = parties.partner.as2_id, parties.station.as2_id
        asked = message.mdn.async_url if message.mdn and message.mdn.mode == "async" else None
        try:
            claim, first = await self._ledger.claim(
                partner, message.message_id, station, mdn_url=asked
            )
        except Exception:  # the database unavailable: nothing claimed, nothing done yet
            log.exception("could not claim %s from %s", message.message_id, partner)
            STORE_FAILURES.labels(partner).inc()
            return send_again("could not record the message")
        if claim != "new" and asked is not None:
            message = await self._to_first_url(message, partner, asked)
        if claim == "duplicate":
            DUPLICATES.labels(partner).inc()
            self._replies.tell(duplicate(message.message_id, station, partner, first))
            return await self._replies.answer(message, parties.local, None)
        try:
            verdict = await self._replays.check(parties.partner, message)
        except Exception:  # the database unavailable: release the claim, ask to send again
            log.exception("could not check %s from %s for a replay", message.message_id, partner)
            await self._release(partner, message.message_id)
            STORE_FAILURES.labels(partner).inc()
            return send_again("could not record the message")
        if verdict.outcome != "deliver":
            return await self._not_replayed(verdict, message, parties, headers)
        count = 1 + len(message.attachments)
        try:
            name = document_name(partner, message.message_id)
            # The copy as received is stored alongside the documents, not after them: two
            # object-store writes at once (a 100 MB message: about half a second less).
            keeping = asyncio.ensure_future(self._storing.as_received(name, headers, body))
            try:
                ref, attachments = await self._storing.documents(name, message)
            except BaseException:
                await self._storing.drop_copy(keeping)  # of a message not delivered
                raise
            raw = await keeping
            sequence = await self._publish(
                received(message, station, partner, headers, first, ref, raw, attachments)
            )
            # Its place in the events stream tells when every consumer has acknowledged it
            # (see adapters/retention.py); a publisher that does not say is kept the longest.
            at = sequence if isinstance(sequence, int) else None
            kept = raw.name if raw is not None else None
            if verdict.held is not None:  # before the ledger: see replay_protection.py
                await self._replays.accepted(verdict.held)
            await self._ledger.delivered(
                partner, message.message_id, name, at, kept, attachments=len(attachments)
            )
        except Exception:  # storage or bus failure: nothing delivered, and it may pass
            log.exception(
                "could not deliver %s from %s (%d document(s))", message.message_id, partner, count
            )
            await self._release(partner, message.message_id, verdict.held)
            # A 503, not a negative MDN: senders (ours included) take "processed/error" as
            # final and give up, but retry a 5xx; the released claim lets the resend through.
            STORE_FAILURES.labels(partner).inc()
            return send_again("could not store the document")
        RECEIVED.labels(partner).inc()
        DOCUMENTS.labels(partner).inc(count)
        if count > 1:
            total = ref.size + sum(a.document.size for a in attachments)
            log.info(
                "received %s from %s: %d documents, %d bytes", message.message_id, partner,
                count, total,
            )  # fmt: skip
        return await self._replies.answer(message, parties.local, None)

    async def _to_first_url(
        self, message: as2.ReceivedMessage, partner: str, asked: str
    ) -> as2.ReceivedMessage:
        """A resend asking for an async MDN at ``asked``: the message whose MDN goes to the
        URL its Message-ID's first copy named instead, or in the response (synchronous) when
        that one named none (see the module's note)."""
        try:
            first_url = await self._ledger.mdn_url(partner, message.message_id)
        except Exception as err:  # the database away: no URL known, answer on this connection
            log.warning("could not read the MDN URL of %s: %s", message.message_id, err)
            first_url = None
        if first_url == asked:
            return message
        assert message.mdn is not None
        if first_url is None:
            mdn = dataclasses.replace(message.mdn, mode="sync", async_url=None)
            instead = "in the response, as its first copy asked for no asynchronous MDN"
        else:
            mdn = dataclasses.replace(message.mdn, async_url=first_url)
            instead = f"to {shown_url(first_url)}, the URL its first copy named"
        log.warning(
            "%s from %s was sent again naming %s for its MDN; the MDN goes %s",
            message.message_id, partner, shown_url(asked), instead,
        )  # fmt: skip
        return dataclasses.replace(message, mdn=mdn)

    async def _release(self, partner: str, message_id: str, held: Held | None = None) -> None:
        """Forget a claim after a failed delivery. When even that fails (the database gone),
        the claim stays ``receiving`` and the resend is a ``retry``: delivered all the same,
        as the same event. A signature held for it (replay protection) is released first:
        kept, it makes copies under other Message-IDs wait (``pending``) until the resend."""
        try:
            if held is not None:
                await self._replays.release(held)
        except Exception as err:
            log.warning(
                "could not release the signature of %s from %s: %s", message_id, partner, err
            )
        try:
            await self._ledger.release(partner, message_id)
        except Exception as err:
            log.warning("could not release the claim on %s from %s: %s", message_id, partner, err)

    async def _not_replayed(
        self,
        verdict: Verdict,
        message: as2.ReceivedMessage,
        parties: Parties,
        headers: Mapping[str, str],
    ) -> Answer:
        """The answer to a message replay protection stops; nothing delivered, and its claim
        on the Message-ID released (a resend of it is checked again, never let through as a
        ``retry``). An async MDN is not POSTed: a replayed signature proves only that someone
        captured it, and the URL is a header anyone can change (see the module's note)."""
        partner, station = parties.partner.as2_id, parties.station.as2_id
        await self._release(partner, message.message_id)
        REPLAYS.labels(partner, verdict.metric).inc()
        if verdict.outcome == "refused":
            return await self._replies.reject(
                as2.summarize_request(headers), verdict.error, parties
            )
        log.warning("not delivered %s from %s: %s", message.message_id, partner, verdict.reason)
        if verdict.outcome == "pending":
            return send_again(f"{verdict.reason}, so this copy could not be taken")
        assert verdict.first is not None
        first = verdict.first.claimed_at
        self._replies.tell(duplicate(message.message_id, station, partner, first, verdict.reason))
        if message.mdn is not None and message.mdn.mode == "async":
            url = shown_url(message.mdn.async_url)
            return Answer.text(200, f"duplicate: {verdict.reason}; no MDN was sent to {url}")
        return await self._replies.answer(message, parties.local, None)
