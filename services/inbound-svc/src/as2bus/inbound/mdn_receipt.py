"""Receiving a partner's asynchronous MDN for a message we sent: who sent it (a known partner,
to one of our stations, over a client certificate that may claim it), whether it reads and
its signature verifies, then MdnReceived on the bus for outbound-svc to settle the message."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from as2bus import as2
from as2bus.contracts import MdnReceived, MdnReport
from as2bus.inbound.certificate_check import refused_certificate
from as2bus.inbound.domain import Answer, send_again
from as2bus.inbound.metrics import MDNS_RECEIVED
from as2bus.inbound.ports import DocumentStorage, PartyDirectory, Publish
from as2bus.shared.crypto import certificate_fingerprint
from as2bus.shared.offload import run_sized
from as2bus.shared.tracing import tag_span

log = logging.getLogger(__name__)


class MdnReceiver:
    def __init__(
        self, parties: PartyDirectory, documents: DocumentStorage, publish: Publish
    ) -> None:
        self._parties = parties
        self._documents = documents
        self._publish = publish

    async def receive(
        self, headers: Mapping[str, str], body: bytes, client_certificate: bytes | None = None
    ) -> Answer:
        """A partner's async MDN for a message we sent: check it and report it on the bus.
        Its connection's client certificate is held to the MDN's sender (its AS2-From) as a
        message's is."""
        summary = as2.summarize_request(headers)
        partner = self._parties.partner_by_as2_id(summary.as2_from or "")
        if partner is None:
            # The partner's header, shown bounded and printable (the fuzzer sent 9 KB of it).
            shown = as2.model.shown_reason(repr(summary.as2_from), limit=200)
            return Answer.text(403, f"unknown-trading-partner: {shown}")
        if self._parties.station_by_as2_id(summary.as2_to or "") is None:
            return Answer.text(
                403,
                "unknown-trading-partner: the MDN is addressed to "
                f"{as2.model.shown_reason(repr(summary.as2_to), limit=200)}, none of our stations",
            )
        refused = refused_certificate(self._parties, partner, client_certificate)
        if refused is not None:
            log.warning("refused an MDN from %s: %s", partner.as2_id, refused.reason)
            return Answer.text(403, refused.reason)
        tag_span(message_id=summary.message_id, partner=partner.as2_id, station=summary.as2_to)
        certs = await self._parties.mdn_verify_certs(partner)
        try:
            mdn = await run_sized(
                len(body),
                as2.parse_mdn,
                headers,
                body,
                verify_certs=certs,
                allow_expired=partner.accept_expired_mdn_certificate,
            )
        except as2.MdnError as err:
            return Answer.text(400, str(err))  # "not a readable MDN: ..." and the like
        raw = await self._documents.keep_mdn(mdn.original_message_id, list(headers.items()), body)
        report = MdnReport(
            original_message_id=mdn.original_message_id,
            station=summary.as2_to,
            partner=partner.as2_id,
            disposition=mdn.disposition,
            modifier=mdn.modifier,
            text=mdn.text,
            mic=mdn.mic,
            mic_alg=mdn.mic_alg,
            signed=mdn.signed,
            signature_valid=mdn.signature_valid,
            mode="async",
            raw=raw,
            verified_with=certificate_fingerprint(mdn.verified_by) if mdn.verified_by else None,
        )
        # Critical: outbound waits for this to settle the message, so a failure is a 503 and
        # the partner retries (the MDN as it came is kept again, under the same name).
        try:
            await self._publish(MdnReceived(correlation_id=mdn.original_message_id, data=report))
        except Exception:
            log.exception(
                "could not report the MDN for %s from %s", mdn.original_message_id, partner.as2_id
            )
            return send_again("could not take the MDN")
        MDNS_RECEIVED.labels(partner.as2_id, mdn.disposition).inc()
        return Answer(200)
