"""What a partner and the bus are told about a message: a refusal (a 4xx, or a negative MDN),
the MDN (in the response, or queued for the URL the sender named), and the events that report
rather than deliver. An async MDN goes only to a sender whose message the codec accepted; a
refused one is answered on its own connection (service.py's module note says why)."""

from __future__ import annotations

import logging

from as2bus import as2
from as2bus.as2.headers import receipt_url_refusal
from as2bus.contracts import Event, MdnOutcome, MdnSent
from as2bus.inbound.client_certificates import CertificateRefusal
from as2bus.inbound.domain import Answer, operators_reason, rejected, shown_name, shown_url
from as2bus.inbound.metrics import MDNS, REJECTED
from as2bus.inbound.parties import Parties
from as2bus.inbound.ports import MdnQueue, PartyDirectory
from as2bus.inbound.reports import Reports

log = logging.getLogger(__name__)
#: The disposition modifier of a message refused for its TLS client certificate (RFC 4130's).
CERTIFICATE_MODIFIER = "authentication-failed"


class Replies:
    def __init__(self, parties: PartyDirectory, mdns: MdnQueue, reports: Reports) -> None:
        self._parties = parties
        self._mdns = mdns
        self._reports = reports

    async def reject(
        self,
        summary: as2.RequestSummary,
        error: as2.As2Error,
        parties: Parties | None,
    ) -> Answer:
        partner = parties.partner.as2_id if parties else shown_name(summary.as2_from or "")
        REJECTED.labels(partner or "", error.modifier).inc()
        reason = operators_reason(error)
        log.warning(
            "rejected %s from %s: %s: %s", summary.message_id, partner, error.modifier, reason
        )
        self.tell(rejected(summary, error.modifier, reason))
        status = 403 if error.modifier == "unknown-trading-partner" else 400
        refusal = f"{error.modifier}: {error.reason}"
        if summary.mdn is None:
            return Answer.text(status, refusal)
        if summary.mdn.mode == "async" and receipt_url_refusal(summary.mdn.async_url or ""):
            return Answer.text(status, refusal)  # an unusable URL: the refusal says so
        if summary.mdn.mode == "async":
            # Refused here, the message has not shown who sent it (the codec accepted nothing):
            # its URL is anyone's choice, and a POST to it would let anyone make us call any
            # address (server-side request forgery). The answer goes back on this connection.
            url = shown_url(summary.mdn.async_url)
            log.warning(
                "no MDN sent to %s for %s (claiming to be from %s): its sender is not "
                "authenticated; answered %d instead",
                url, summary.message_id, shown_name(summary.as2_from or ""), status,
            )  # fmt: skip
            return Answer.text(
                status,
                f"{refusal}; no MDN was sent to {url}, as an asynchronous MDN goes only to a "
                "sender whose message could be authenticated",
            )
        local = (
            parties.local
            if parties
            else await self._parties.signer_for(summary.as2_to, summary.as2_from)
        )
        return await self.answer(summary, local, error)

    async def refuse_connection(
        self, summary: as2.RequestSummary, refused: CertificateRefusal
    ) -> Answer:
        """A 403 for a message its connection's client certificate does not allow (see
        client_certificates.py): no MDN, as nothing of the message was looked at."""
        sender = shown_name(summary.as2_from or "")
        log.warning("refused %s from %s: %s", summary.message_id, sender, refused.reason)
        self.tell(rejected(summary, CERTIFICATE_MODIFIER, refused.reason))
        return Answer.text(403, refused.reason)

    async def answer(
        self,
        request: as2.ReceivedMessage | as2.RequestSummary,
        local: as2.LocalParty | None,
        error: as2.As2Error | None,
    ) -> Answer:
        """The MDN: in the response, or queued for the URL the sender named. Only a message
        the codec accepted (``Receiver._deliver``) may ask the latter; ``reject`` answers an async
        request itself."""
        if request.mdn is None:
            return Answer(200)
        mdn = as2.build_mdn(request, local=local, error=error)  # small: on the loop (offload)
        outcome = MdnOutcome(
            original_message_id=request.message_id or "",
            station=request.as2_to,
            partner=request.as2_from,
            mode=request.mdn.mode,
            disposition="processed" if error is None else "failed",
            modifier=error.modifier if error else None,
            signed=bool(request.mdn.signing and local and local.signing),
            url=request.mdn.async_url,
            delivered=request.mdn.mode == "sync",
        )
        if request.mdn.mode == "async" and request.mdn.async_url:
            await self._mdns.enqueue(outcome, mdn.headers, mdn.body)
            MDNS.labels(request.as2_from or "", "async").inc()
            return Answer(200)
        MDNS.labels(request.as2_from or "", "sync").inc()
        self.tell(MdnSent(correlation_id=outcome.original_message_id, data=outcome))
        return Answer(200, mdn.body, mdn.headers)

    def tell(self, event: Event) -> None:
        """Publish an event that reports rather than delivers, beside the answer (reports.py):
        a failure is logged, the partner still gets its answer."""
        self._reports.tell(event)
