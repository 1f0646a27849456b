"""Every failure class in plain words: what happened and what to do. Keyed by the codes the
gateway's events carry (MessageFailed, MessageRejected, negative MDNs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    what: str
    todo: str


_CAUSES = {
    "attempts-exhausted": Cause(
        "Every attempt to reach the partner failed (no connection, a timeout or a server "
        "error on their side).",
        "Check the partner's URL and that their server is up (Partner health has a connection "
        "test), then resend.",
    ),
    "partner-refused": Cause(
        "The partner's server refused the message with an error that will not go away by "
        "itself (a 4xx such as 401, 403 or 404).",
        "401/403: check the partner's HTTP authentication; 404: check the URL. Then resend.",
    ),
    "mdn-unreadable": Cause(
        "The partner accepted the HTTP request but did not send back a readable receipt (MDN).",
        "Ask the partner whether they received the file; check the MDN settings with them.",
    ),
    "mdn-failed": Cause(
        "The partner's receipt (MDN) says they could not process the message.",
        "Read the MDN's text below; usually a certificate or an AS2 ID the partner does not "
        "expect. Fix it with the partner, then resend.",
    ),
    "mdn-signature-invalid": Cause(
        "The partner's receipt is signed, but not with the certificate we have for them.",
        "The partner may have changed certificates: get their new certificate, upload it, "
        "then resend.",
    ),
    "mdn-unsigned": Cause(
        "The partner's receipt is not signed, but this partnership requires a signed one.",
        "Ask the partner to sign MDNs, or set the partner's MDN signature to 'preferred'.",
    ),
    # (an unsigned receipt that says processed with our MIC: PROCESSED_UNSIGNED below)
    "mdn-without-mic": Cause(
        "The partner's signed receipt does not say which content it is for (no MIC).",
        "Ask the partner to include Received-Content-MIC in their MDNs.",
    ),
    "mic-mismatch": Cause(
        "The receipt is for different content than what we sent (the MIC does not match).",
        "The document may have been altered on the way or the partner computes the MIC "
        "differently; compare settings (signing algorithm) with the partner and resend.",
    ),
    "mdn-deadline": Cause(
        "The partner's asynchronous receipt did not arrive in time.",
        "Ask the partner whether they received the file and where they send MDNs; resend if "
        "they did not get it.",
    ),
    "certificate-unavailable": Cause(
        "A certificate needed to sign or encrypt was missing or expired when sending.",
        "If the reason says the partnership has no key of ours yet, open the PartnerShip and "
        "Create its certificates; else check its keystore on the Certificate page. Then resend.",
    ),
    "partnership-unavailable": Cause(
        "The partnership was disabled or deleted after the message was queued, or changed so "
        "that it cannot send the message as asked (the reason says how).",
        "Enable the partnership again if the message should go, or do what the reason says, "
        "then resend.",
    ),
    # A send request the gateway refused before sending anything (MessageRejected's codes,
    # docs/integrating.md "Refusals"): nothing reached the partner, so "send again", not resend.
    # Its advice when the station or the partner is unknown (a typo, another case): party_causes
    "UNKNOWN_PARTNERSHIP": Cause(
        "The gateway refused to send: there is no enabled partnership between this station "
        "and partner (or one of them is not ours, or the partner is disabled).",
        "If the reason says we have no such station or partner, correct the AS2 ID the request "
        "names (AS2 IDs are case-sensitive); otherwise create or enable the partnership "
        "(PartnerShip page) and the partner. Then send the file again.",
    ),
    "DOCUMENT_TOO_LARGE": Cause(
        "The gateway refused to send: the document, or the documents together, are larger "
        "than it accepts.",
        "Send a smaller file, or raise AS2BUS_OUTBOUND_MAX_DOCUMENT_BYTES if the partner "
        "accepts such files, then send it again.",
    ),
    "CERT_NOT_FOUND": Cause(
        "The gateway refused to send: a certificate it needs is not in service, our own to "
        "sign or the partner's to encrypt (the message's reason says which).",
        "If the reason says the partnership has no key of ours yet, open the PartnerShip and "
        "Create its certificates (or: as2bus keystore create). Else open its keystore "
        "(Certificate page): upload the partner's certificate or add ours, check that it is in "
        "use from now. Then send the file again.",
    ),
    "CERT_HAS_EXPIRED": Cause(
        "The gateway refused to send: the certificate it would sign or encrypt with has "
        "expired (the message's reason says which).",
        "Rotate it on the partnership's keystore (Certificate page): get the partner's new "
        "certificate, or give ours a successor and send the partner its public certificate. "
        "Then send the file again.",
    ),
    "DOCUMENT_NOT_FOUND": Cause(
        "The gateway refused to send: the document the request points to is not in the "
        "object store (it was never stored, or its retention is over).",
        "Send the file again; if your own system sent the request, have it store the "
        "document in the bucket as2_documents first.",
    ),
    "DOCUMENT_MISMATCH": Cause(
        "The gateway refused to send: the stored document's size or checksum is not the one "
        "the request gives, so it may be incomplete or another file.",
        "Send the file again; if your own system sent the request, check the size and "
        "SHA-256 it gives for the stored document.",
    ),
    "INVALID_JSON": Cause(
        "The gateway refused a send request that was not readable (not a JSON object).",
        "Fix what the sending system publishes (docs/integrating.md), then send again; "
        "files sent from this console never get this.",
    ),
    "INVALID_REQUEST": Cause(
        "The gateway refused a send request with a missing, unknown or wrong field (the "
        "message's reason names it).",
        "Fix the sending system's request (docs/integrating.md), then send again.",
    ),
    "REQUEST_ID_REUSED": Cause(
        "The gateway refused a send request whose request id was used before for another "
        "request; the first one stands and this one was not sent.",
        "Send it again under a new request id: the sending system must not reuse ids.",
    ),
    "decryption-failed": Cause(
        "We could not decrypt the partner's message: it was encrypted for another certificate.",
        "Send the partner our current certificate (Certificate page, Download PublicKey).",
    ),
    "authentication-failed": Cause(
        "The partner's message signature does not verify with their certificate we have.",
        "Get the partner's current certificate and upload it.",
    ),
    # Which AS2 ID we do not know decides what to do: party_causes, when it is known.
    "unknown-trading-partner": Cause(
        "A message came whose AS2-From and AS2-To are not one of our partnerships: an AS2 ID "
        "we do not have (a new partner, or one of ours written wrong) or no partnership "
        "between them.",
        "The reason says which AS2 ID we do not have. A wrong one (AS2 IDs are "
        "case-sensitive) is the partner's to correct; create a partner only for a new one.",
    ),
}

#: An unsigned receipt where a signed one is required, that says processed and reports the MIC
#: of what we sent: no proof, but the partner most likely has the document.
PROCESSED_UNSIGNED = Cause(
    "The partner's receipt is not signed, but this partnership requires a signed one. Its MDN, "
    "though unsigned, says processed and the MIC matches: the partner most likely has the "
    "document.",
    "Do not resend it (the partner would get it twice). Ask the partner to sign MDNs, or set "
    "the partner's MDN signature to 'preferred'.",
)

UNKNOWN = Cause("See the reason below.", "If it is not clear, the track log's timeline has "
                "every step; the partner may need to be contacted.")  # fmt: skip


def cause_of(code: str | None) -> Cause:
    if code is None:
        return UNKNOWN
    return _CAUSES.get(code) or _CAUSES.get(code.lower()) or _CAUSES.get(code.upper()) or UNKNOWN
