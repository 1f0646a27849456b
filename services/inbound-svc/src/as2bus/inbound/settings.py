"""inbound-svc settings: the shared chassis plus the endpoint's limits (``AS2BUS_INBOUND_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator

from as2bus.inbound.mdn_targets import networks
from as2bus.shared.recycled_files import DEFAULT_KEPT_BYTES
from as2bus.shared.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    # Only the prefixed variable: a bare alias such as "path" would read $PATH.
    return AliasChoices(f"AS2BUS_INBOUND_{name.upper()}")


class InboundSettings(ServiceSettings):
    http_port: int = Field(default=8080, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/inbound.db"
    path: str = Field(default="/as2", validation_alias=_env("path"))
    max_body_bytes: int = Field(
        default=200 * 1024 * 1024, gt=0, validation_alias=_env("max_body_bytes")
    )
    max_header_bytes: int = Field(
        default=16 * 1024, gt=0, validation_alias=_env("max_header_bytes")
    )
    max_payload_bytes: int = Field(
        default=1024 * 1024 * 1024,
        gt=0,
        validation_alias=_env("max_payload_bytes"),
        description="Bound on a document after decompression",
    )
    spool_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=0,
        validation_alias=_env("spool_bytes"),
        description="Request bodies larger than this go to a temporary file and are decrypted "
        "and verified from there (in $TMPDIR), never held whole in memory",
    )
    recycled_file_bytes: int = Field(
        default=DEFAULT_KEPT_BYTES,
        ge=0,
        validation_alias=_env("recycled_file_bytes"),
        description="Temporary files (spooled bodies, plaintexts) kept for the next large "
        "message, up to this many bytes together: written over, they keep their page cache, "
        "which on a VM that returns free memory to its host is several times cheaper than "
        "new pages. 0 makes every file anew",
    )
    max_mdn_bytes: int = Field(
        default=64 * 1024,
        gt=0,
        validation_alias=_env("max_mdn_bytes"),
        description="Bound on an asynchronous MDN's body (an MDN is a few KB): a larger one is "
        "refused with 413 as soon as it is recognised, without reading the rest",
    )
    header_timeout_seconds: float = Field(
        default=10,
        gt=0,
        validation_alias=_env("header_timeout_seconds"),
        description="A request's line and headers must be complete within this; else 408 and "
        "the connection is closed",
    )
    body_timeout_seconds: float = Field(
        default=30,
        gt=0,
        validation_alias=_env("body_timeout_seconds"),
        description="The longest wait for the next bytes of a request body; else 408, the "
        "connection is closed and what was spooled is freed",
    )
    document_grace_hours: float = Field(
        default=24,
        ge=0,
        validation_alias=_env("document_grace_hours"),
        description="A received document is deleted this long after every durable consumer "
        "of MessageReceived (your systems, as2bus inbox) has acknowledged its event. 0 deletes "
        "it as soon as it is consumed (at the next retention check), not never",
    )
    document_retention_hours: float = Field(
        default=30 * 24,
        ge=0,
        validation_alias=_env("document_retention_hours"),
        description="At the latest, a received document (and the message as received) is "
        "deleted this long after its MessageReceived was published, consumed or not. 0 keeps "
        "them forever, consumed or not",
    )
    keep_received_messages: bool = Field(
        default=True,
        validation_alias=_env("keep_received_messages"),
        description="Keep each delivered message as received (headers, credentials left out, "
        "and the body byte for byte) in the object store until the document retention is "
        "over, consumed or not: the record of what the partner signed, downloadable in the "
        "console",
    )
    retention_check_seconds: float = Field(
        default=600,
        gt=0,
        validation_alias=_env("retention_check_seconds"),
        description="How often documents whose retention is over are looked for",
    )
    replay_window_seconds: float = Field(
        default=48 * 3600,
        gt=0,
        validation_alias=_env("replay_window_seconds"),
        description="For partners with replay protection: a signed message whose signing time "
        "is older than this is refused, and a signature accepted within it is not accepted "
        "again under another Message-ID (answered as a duplicate)",
    )
    replay_clock_skew_seconds: float = Field(
        default=900,
        ge=0,
        validation_alias=_env("replay_clock_skew_seconds"),
        description="For partners with replay protection: how far ahead of our clock a signing "
        "time may be (the partner's clock runs fast) before the message is refused",
    )
    tls_cert_file: Path | None = Field(
        default=None,
        validation_alias=_env("tls_cert_file"),
        description="Serve HTTPS with this PEM certificate (followed by its chain, if any). "
        "Unset: plain HTTP, for a proxy or Ingress that terminates TLS",
    )
    tls_key_file: Path | None = Field(
        default=None,
        validation_alias=_env("tls_key_file"),
        description="The PEM private key (unencrypted) of AS2BUS_INBOUND_TLS_CERT_FILE",
    )
    tls_key_alias: str | None = Field(
        default=None,
        validation_alias=_env("tls_key_alias"),
        description="Serve HTTPS with our key and certificate held by cert-svc under this "
        "alias (imported as PKCS#12 with `as2bus cert import`), instead of the two files: the "
        "key never touches a disk, and an import under the same alias is served from its "
        "activation on, without a restart",
    )
    tls_client_ca_file: Path | None = Field(
        default=None,
        validation_alias=_env("tls_client_ca_file"),
        description="PEM CA certificates trusted for TLS client certificates besides each "
        "partner's own (its TLS client certificates setting)",
    )
    tls_reload_seconds: float = Field(
        default=30,
        gt=0,
        validation_alias=_env("tls_reload_seconds"),
        description="How often the TLS files (or cert-svc's key) are checked for a change; a "
        "changed pair is loaded for the connections that follow, without a restart",
    )
    async_mdn_attempts: int = Field(default=6, ge=1, validation_alias=_env("async_mdn_attempts"))
    async_mdn_backoff_seconds: float = Field(
        default=30, gt=0, validation_alias=_env("async_mdn_backoff_seconds")
    )
    async_mdn_timeout_seconds: float = Field(
        default=30, gt=0, validation_alias=_env("async_mdn_timeout_seconds")
    )
    async_mdn_allowed_networks: list[str] = Field(
        default_factory=list,
        validation_alias=_env("async_mdn_allowed_networks"),
        description='Networks, JSON (["10.20.0.0/16"]), that asynchronous MDNs may be posted '
        "to although they are not public: loopback, link-local, private (RFC 1918, IPv6 unique "
        "local) and reserved addresses are refused otherwise (the URL is the sender's "
        "choice). An on-premises partner on a private network needs its network here",
    )

    body_deadline_seconds: float = Field(
        default=60,
        gt=0,
        validation_alias=_env("body_deadline_seconds"),
        description="A request body must be complete within this, plus "
        "AS2BUS_INBOUND_BODY_SECONDS_PER_MIB for each MiB of it; else 408 and the connection "
        "is closed (a body trickled a byte at a time never pauses long enough for "
        "AS2BUS_INBOUND_BODY_TIMEOUT_SECONDS)",
    )
    body_seconds_per_mib: float = Field(
        default=10,
        ge=0,
        validation_alias=_env("body_seconds_per_mib"),
        description="The time a request body is given for each MiB, beyond "
        "AS2BUS_INBOUND_BODY_DEADLINE_SECONDS: 10 asks an average of 100 KiB/s at least "
        "(a 200 MiB body gets 34 minutes)",
    )

    @field_validator("async_mdn_allowed_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        networks(values)  # raises ValueError, one sentence, for one that is not a network
        return values
