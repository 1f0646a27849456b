"""outbound-svc settings: the chassis plus sending policy (``AS2BUS_OUTBOUND_*``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from as2bus.contracts import MAX_INLINE_BYTES
from as2bus.shared.recycled_files import DEFAULT_KEPT_BYTES
from as2bus.shared.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    # Only the prefixed variable: a bare alias such as "path" would read $PATH.
    return AliasChoices(f"AS2BUS_OUTBOUND_{name.upper()}")


class OutboundSettings(ServiceSettings):
    http_port: int = Field(default=8083, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/outbound.db"
    relay_idle_seconds: float = Field(default=0.5, gt=0)
    max_attempts: int = Field(default=6, ge=1, validation_alias=_env("max_attempts"))
    backoff_seconds: float = Field(default=30, gt=0, validation_alias=_env("backoff_seconds"))
    backoff_max_seconds: float = Field(
        default=3600, gt=0, validation_alias=_env("backoff_max_seconds")
    )
    http_timeout_seconds: float = Field(
        default=120, gt=0, validation_alias=_env("http_timeout_seconds")
    )
    lease_seconds: float = Field(
        default=300,
        gt=0,
        validation_alias=_env("lease_seconds"),
        description="How long a replica owns a message it is sending before another may retry it",
    )
    stop_grace_seconds: float = Field(
        default=10,
        ge=0,
        validation_alias=_env("stop_grace_seconds"),
        description="On a clean stop (SIGTERM), how long sends in progress may take to finish; "
        "those still running are then cancelled and handed back for an immediate retry (same "
        "Message-ID). Keep it below the pod's terminationGracePeriodSeconds",
    )
    async_mdn_deadline_seconds: float = Field(
        default=4 * 3600, gt=0, validation_alias=_env("async_mdn_deadline_seconds")
    )
    async_mdn_resend: bool = Field(
        default=False,
        validation_alias=_env("async_mdn_resend"),
        description="On a missed async MDN deadline, resend (same Message-ID) instead of failing",
    )
    ca_bundle: str | None = Field(default=None, validation_alias=_env("ca_bundle"))
    workers: int = Field(
        default=16,
        ge=1,
        le=64,
        validation_alias=_env("workers"),
        description="Sends in progress at once in one replica (each partner's max_concurrency "
        "still applies). A send mostly waits for the partner: with a partner that answers in "
        "300 ms, 8 would cap a replica at about 27 messages/s",
    )
    max_document_bytes: int = Field(
        default=500 * 1024 * 1024, gt=0, validation_alias=_env("max_document_bytes")
    )
    # By default every inline document (at most 256 KiB a request) stays in the row: storing a
    # 100 KB one in the object store and reading it back cost nats-server about 5 ms of CPU
    # per message, and a 100 KB burst ran 45 % slower for it (docs/benchmarks.md, finding 23).
    keep_in_database_bytes: int = Field(
        default=MAX_INLINE_BYTES,
        ge=0,
        validation_alias=_env("keep_in_database_bytes"),
        description="Inline documents up to this size (a request's inline documents together, "
        "attachments included) stay in the message's database row instead of going to the "
        "object store (five NATS requests fewer per message), and after it is settled for the "
        "document retention (downloads and resends from the console); 0 sends every document "
        "through the object store",
    )
    stream_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=0,
        validation_alias=_env("stream_bytes"),
        description="Documents of this size and more (a message's documents together, "
        "attachments included) are read and sent in chunks, never held whole in memory "
        "(except for a partner whose token goes in the body)",
    )
    max_in_memory_bytes: int = Field(
        default=256 * 1024 * 1024,
        gt=0,
        validation_alias=_env("max_in_memory_bytes"),
        description="Larger documents (a message's together) that cannot be streamed (a token "
        "in the body) fail with a reason rather than risk the memory limit (~6-8x the document)",
    )
    keep_sent_messages: bool = Field(
        default=True,
        validation_alias=_env("keep_sent_messages"),
        description="Keep each message as sent (AS2 headers and the signed, encrypted body "
        "byte for byte) in the object store for the document retention, for the console's "
        "download; costs about the document's size again in storage",
    )
    recycled_file_bytes: int = Field(
        default=DEFAULT_KEPT_BYTES // 3,  # one file per message here; inbound-svc has up to four
        ge=0,
        validation_alias=_env("recycled_file_bytes"),
        description="Temporary files (the copies of large messages as sent) kept for the next "
        "large message, up to this many bytes together: written over, they keep their page "
        "cache, which on a VM that returns free memory to its host is several times cheaper "
        "than new pages. 0 makes every file anew",
    )
    document_retention_hours: float = Field(
        default=30 * 24,
        ge=0,
        validation_alias=_env("document_retention_hours"),
        description="How long a sent document stays in the object store (or in the message's "
        "row, a small inline one) after its message was settled (delivered or failed), for "
        "downloads and resends; then it is deleted, also when the publisher stored it. 0 keeps "
        "documents forever",
    )
    retention_check_seconds: float = Field(
        default=600,
        gt=0,
        validation_alias=_env("retention_check_seconds"),
        description="How often documents whose retention is over are looked for",
    )
    async_mdn_url: str | None = Field(
        default=None,
        validation_alias=_env("async_mdn_url"),
        description="Our inbound endpoint's public URL, for partners set to async MDN without one",
    )
