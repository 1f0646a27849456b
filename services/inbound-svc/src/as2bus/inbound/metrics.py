"""inbound-svc's Prometheus metrics, per partner."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("as2bus_inbound_received_total", "Messages received and delivered", ["partner"])
DOCUMENTS = Counter(
    "as2bus_inbound_documents_total",
    "Documents delivered: one per message, more for a message with several (RFC 6362)",
    ["partner"],
)
REJECTED = Counter(
    "as2bus_inbound_rejected_total",
    "Messages refused, by disposition modifier; messages and async MDNs refused for their TLS "
    "client certificate, by client-certificate-missing, -other-partner or -not-partners",
    ["partner", "reason"],
)
DUPLICATES = Counter(
    "as2bus_inbound_duplicates_total", "Resent Message-IDs not delivered again", ["partner"]
)
REPLAYS = Counter(
    "as2bus_inbound_replays_refused_total",
    "Signed messages not delivered by replay protection, by why: signature-seen (a duplicate), "
    "signature-in-delivery (sent again later), signing-time-too-old, signing-time-in-future",
    ["partner", "reason"],
)
STORE_FAILURES = Counter(
    "as2bus_inbound_store_failures_total",
    "Messages answered 503 because the document could not be stored or announced",
    ["partner"],
)
MDNS = Counter("as2bus_inbound_mdns_total", "MDNs answered", ["partner", "mode"])
MDNS_RECEIVED = Counter(
    "as2bus_inbound_partner_mdns_total",
    "Async MDNs received for our messages",
    ["partner", "disposition"],
)
PROCESSING = Histogram(
    "as2bus_inbound_processing_seconds",
    "From request to answer, for delivered messages",
    ["partner"],
)
TLS_HANDSHAKE_FAILURES = Counter(
    "as2bus_inbound_tls_handshake_failures_total",
    "TLS handshakes on our endpoint that failed, by why: certificate-expired, "
    "certificate-not-yet-valid, unknown-ca, bad-certificate, no-certificate, protocol-version, "
    "no-shared-cipher, plain-http, not-tls, client-alert (the client refused), other",
    ["reason"],
)
DELETED_UNREAD = Counter(
    "as2bus_inbound_documents_deleted_unread_total",
    "Received documents deleted at the end of AS2BUS_INBOUND_DOCUMENT_RETENTION_HOURS before "
    "every durable consumer of MessageReceived had acknowledged their event (no partner "
    "label: it is 0 from the start, so that the first one raises its alert; the warning "
    "logged for each names the message and the partner)",
)
OLDEST_UNREAD = Gauge(
    "as2bus_inbound_oldest_unread_document_age_seconds",
    "Age of the oldest received document that a durable consumer of MessageReceived has not "
    "acknowledged yet (0 when there is none), as of the last retention check; read from the "
    "shared database, so every replica reports the same",
)
