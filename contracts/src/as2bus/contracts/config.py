"""Configuration contracts: stations, partners and partnerships, v1.

Events carry the entity's full non-secret state (event-carried state transfer) so any service
can keep a replica. Secrets (passwords, tokens) never appear here: only a ``*_set`` flag says
whether one is stored. ``revision`` grows by one with every change to an entity, so a replica
can ignore a stale update.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from as2bus.contracts.algorithms import (
    Compression,
    EncryptionAlg,
    KeyTransport,
    SignatureScheme,
    SigningAlg,
    TransferEncoding,
)
from as2bus.contracts.envelope import Contract, Event, register
from as2bus.contracts.subjects import event_subject

MdnMode = Literal["sync", "async", "none"]
#: What we ask of a partner's MDN signature (RFC 4130 §7.3 ``signed-receipt-protocol``):
#: required (an unsigned MDN fails the message), preferred (asked as optional; an unsigned MDN
#: is delivery with a warning) or none (an unsigned MDN is asked for).
MdnSignature = Literal["required", "preferred", "none"]
TokenPlacement = Literal["header", "query", "body"]
As2Version = Literal["1.0", "1.1", "1.2"]

MAX_PARTNER_CONCURRENCY = 25
#: A partner's async MDN networks: a few on-premises or VPN networks, not a routing table.
MAX_ASYNC_MDN_NETWORKS = 32
#: Certificate and key aliases: what keystores and file names accept everywhere.
ALIAS_PATTERN = r"^[A-Za-z0-9._@-]{1,128}$"


class StationState(Contract):
    """One of our own AS2 identities."""

    id: uuid.UUID
    revision: int
    as2_id: str
    name: str
    private_key_alias: str
    email: str | None = None
    mdn_signing_alg: SigningAlg = SigningAlg.SHA256
    accepted_encryption_algs: list[EncryptionAlg] = Field(default_factory=list)
    accepted_signing_algs: list[SigningAlg] = Field(default_factory=list)
    incoming_encoding: TransferEncoding = TransferEncoding.BINARY
    created_at: datetime
    updated_at: datetime


class NoAuth(Contract):
    type: Literal["none"] = "none"


class BasicAuthPublic(Contract):
    type: Literal["basic"] = "basic"
    username: str
    password_set: bool


class TokenRefreshPublic(Contract):
    uri: str
    method: Literal["POST", "GET", "PUT"] = "POST"
    media_type: str = "application/json"
    token_path: str = "access_token"
    header_names: list[str] = Field(default_factory=list)
    refresh_token_set: bool


class TokenAuthPublic(Contract):
    type: Literal["token"] = "token"
    placement: TokenPlacement = "header"
    header_name: str = "Authorization"
    scheme: str = "Bearer"
    param_name: str = "access_token"
    body_field: str = "access_token"
    token_set: bool
    refresh: TokenRefreshPublic | None = None


HttpAuthPublic = Annotated[NoAuth | BasicAuthPublic | TokenAuthPublic, Field(discriminator="type")]


class AuthFailureDetection(Contract):
    """How to tell that a partner refused our credentials, beyond 401/403."""

    status_code: int | None = Field(default=None, ge=100, le=599)
    path: str | None = None
    values: list[str] = Field(default_factory=list)


TlsVersion = Literal["1.2", "1.3"]
#: Hex SHA-256 (64 characters, lower case) of a certificate's DER or of its public key's
#: SubjectPublicKeyInfo DER.
SHA256_HEX_PATTERN = r"^[0-9a-f]{64}$"


class PartnerTls(Contract):
    """How we speak TLS with one partner, both ways.

    Sending (outbound-svc, to the partner's ``as2_url``): whom to trust, what to pin, whether
    to present our client certificate (our key and certificate of the partnership's keystore),
    the lowest TLS version, a proxy, redirects. Receiving (inbound-svc over HTTPS, mutual TLS):
    which client certificates identify this partner.
    """

    #: PEM certificates (a private CA, or the server's own self-signed one) trusted for this
    #: partner's server instead of outbound-svc's bundle. None: the bundle.
    ca_bundle_pem: str | None = None
    #: The partner's server certificate must match one of these: SHA-256 of the certificate
    #: (DER) or of its SubjectPublicKeyInfo (public-key pinning survives a renewal with the
    #: same key). Checked after, not instead of, verification. Empty: no pinning.
    pinned_sha256: list[Annotated[str, Field(pattern=SHA256_HEX_PATTERN)]] = Field(
        default_factory=list
    )
    #: Present our client certificate in the handshake (mutual TLS the partner demands).
    client_certificate: bool = False
    min_version: TlsVersion = "1.2"
    #: False skips verification of the partner's server: only for a test partner, and every
    #: send logs a warning saying so.
    verify: bool = True
    #: An HTTP(S) proxy for this partner (``http://host:port``, CONNECT for https). None: the
    #: standard proxy environment variables, when set.
    proxy_url: str | None = None
    follow_redirects: bool = False
    #: Receiving: a message claiming this partner's AS2-From must come over a TLS connection
    #: whose client certificate matches ``client_certificates_pem``.
    require_client_certificate: bool = False
    #: PEM: the partner's TLS client certificate(s), or the CA certificate(s) that issue them.
    client_certificates_pem: str | None = None


class PartnerState(Contract):
    """A trading partner and its AS2 settings."""

    id: uuid.UUID
    revision: int
    as2_id: str
    name: str
    as2_alias: str
    email: str | None = None
    enabled: bool = True
    as2_url: str
    mdn_mode: MdnMode = "sync"
    async_mdn_url: str | None = None
    #: Networks (CIDR, e.g. "10.20.0.0/16"), not public, that the async MDNs this partner's
    #: messages ask for may be POSTed to, besides those inbound-svc allows for every partner
    #: (AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS). Empty: only those.
    async_mdn_networks: list[str] = Field(default_factory=list)
    #: Kept for readers of v1 before ``mdn_signature``: true unless ``mdn_signature`` is none.
    mdn_signed: bool = True
    mdn_signature: MdnSignature = "required"
    mdn_signing_alg: SigningAlg | None = SigningAlg.SHA256
    encryption_alg: EncryptionAlg | None = EncryptionAlg.AES256
    signing_alg: SigningAlg | None = SigningAlg.SHA256
    #: RSA PKCS#1 v1.5 unless the partner asks for RSASSA-PSS.
    signature_scheme: SignatureScheme = SignatureScheme.PKCS1V15
    #: How the content-encryption key is wrapped for the partner (OAEP-SHA256 on request).
    key_transport: KeyTransport = KeyTransport.RSA_PKCS1V15
    #: Accept an MDN signed with a partner certificate already past its expiry when it signed
    #: (partners who renew late); the signature still has to verify.
    accept_expired_mdn_certificate: bool = False
    #: Every bare LF of the document as CRLF before signing, for partners whose S/MIME stack
    #: verifies text in text mode; off, documents go byte for byte.
    canonicalize_line_endings: bool = False
    #: The AS2-Version header of the messages sent to the partner (1.0: no compression).
    as2_version: As2Version = "1.2"
    #: inbound-svc answers a signed message whose signature it accepted already (under another
    #: Message-ID, which no signature covers) as a duplicate, and refuses a signing time
    #: outside its window. False here, not config-svc's True for new partners, so that a
    #: state stored or published before this field reads as it behaved: without it.
    replay_protection: bool = False
    compression: Compression = Compression.NONE
    outgoing_encoding: TransferEncoding = TransferEncoding.BINARY
    http_auth: HttpAuthPublic = Field(default_factory=NoAuth)
    auth_failure: AuthFailureDetection | None = None
    rate_limit_per_second: float | None = None
    max_concurrency: int = Field(default=MAX_PARTNER_CONCURRENCY, ge=1, le=MAX_PARTNER_CONCURRENCY)
    #: Sending policy for this partner; None means outbound-svc's defaults.
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    async_mdn_deadline_seconds: float | None = Field(default=None, gt=0)
    #: The Subject of messages to this partner whose send request names none (OpenAS2's
    #: partnership "subject"); None: "AS2 Message".
    default_subject: str | None = None
    tls: PartnerTls = Field(default_factory=PartnerTls)
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _one_mdn_signature_setting(cls, data: object) -> object:
        """States stored or published before ``mdn_signature`` only have ``mdn_signed``:
        signed meant required (an unsigned MDN failed), unsigned meant none. Afterwards
        ``mdn_signed`` follows ``mdn_signature``."""
        if not isinstance(data, dict):
            return data
        if data.get("mdn_signature") is None:
            signed = data.get("mdn_signed", True)
            return {**data, "mdn_signature": "required" if signed else "none"}
        return {**data, "mdn_signed": data["mdn_signature"] != "none"}


class PartnershipState(Contract):
    """A station paired with a partner; AS2 IDs are repeated so consumers need no join."""

    id: uuid.UUID
    revision: int
    station_id: uuid.UUID
    partner_id: uuid.UUID
    station_as2_id: str
    partner_as2_id: str
    enabled: bool = True
    created_at: datetime
    updated_at: datetime


class Deleted(Contract):
    id: uuid.UUID
    revision: int
    as2_id: str


@register
class StationCreated(Event):
    subject = event_subject("config", "station", "created")
    summary = "A station (our AS2 identity) was created; carries its full state."
    data: StationState


@register
class StationUpdated(Event):
    subject = event_subject("config", "station", "updated")
    summary = "A station changed; carries its full new state."
    data: StationState


@register
class StationDeleted(Event):
    subject = event_subject("config", "station", "deleted")
    summary = "A station was deleted."
    data: Deleted


@register
class PartnerCreated(Event):
    subject = event_subject("config", "partner", "created")
    summary = "A trading partner was created; carries its full non-secret state."
    data: PartnerState


@register
class PartnerUpdated(Event):
    subject = event_subject("config", "partner", "updated")
    summary = "A trading partner changed; carries its full non-secret state."
    data: PartnerState


@register
class PartnerDeleted(Event):
    subject = event_subject("config", "partner", "deleted")
    summary = "A trading partner was deleted."
    data: Deleted


class DeletedPartnership(Contract):
    id: uuid.UUID
    revision: int
    station_as2_id: str
    partner_as2_id: str


@register
class PartnershipCreated(Event):
    subject = event_subject("config", "partnership", "created")
    summary = "A station was paired with a partner; carries the partnership's state."
    data: PartnershipState


@register
class PartnershipUpdated(Event):
    subject = event_subject("config", "partnership", "updated")
    summary = "A partnership was enabled or disabled."
    data: PartnershipState


@register
class PartnershipDeleted(Event):
    subject = event_subject("config", "partnership", "deleted")
    summary = "A partnership was deleted."
    data: DeletedPartnership


ConfigEntity = Literal["station", "partner", "partnership"]
ConfigState = StationState | PartnerState | PartnershipState
