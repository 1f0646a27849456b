"""What the admin API accepts. Responses are the shared contracts' state models (no secrets).

Secrets are ``SecretStr`` and write-only: they go in here and never come back out.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from as2bus.as2.algorithms import (
    Compression,
    EncryptionAlg,
    KeyTransport,
    SignatureScheme,
    SigningAlg,
    TransferEncoding,
    normalize_encryption,
    normalize_signing,
)
from as2bus.config import mdn_networks, partner_tls
from as2bus.config.domain import AS2_1_0_COMPRESSION, check_as2_id
from as2bus.contracts.config import (
    ALIAS_PATTERN,
    MAX_ASYNC_MDN_NETWORKS,
    MAX_PARTNER_CONCURRENCY,
    As2Version,
    AuthFailureDetection,
    MdnMode,
    MdnSignature,
    TlsVersion,
    TokenPlacement,
)


def _optional(normalize: Any) -> Any:
    """Accept ``none``/null as 'no algorithm', any known spelling otherwise; an unknown one's
    error lists ``none`` among the known, since it is one here."""

    def parse(value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        try:
            return normalize(value) if isinstance(value, str) else value
        except ValueError as err:
            raise ValueError(str(err).replace("(known: ", "(known: none, ", 1)) from None

    return parse


def _spelling(normalize: Any) -> Any:
    return lambda value: normalize(value) if isinstance(value, str) else value


As2Id = Annotated[str, AfterValidator(check_as2_id)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Alias = Annotated[str, Field(pattern=ALIAS_PATTERN)]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Signing = Annotated[SigningAlg, BeforeValidator(_spelling(normalize_signing))]
Encryption = Annotated[EncryptionAlg, BeforeValidator(_spelling(normalize_encryption))]
OptionalSigning = Annotated[SigningAlg | None, BeforeValidator(_optional(normalize_signing))]
OptionalEncryption = Annotated[
    EncryptionAlg | None, BeforeValidator(_optional(normalize_encryption))
]
Url = Annotated[HttpUrl, Field(description="An http:// or https:// URL")]
Concurrency = Annotated[int, Field(ge=1, le=MAX_PARTNER_CONCURRENCY)]
RatePerSecond = Annotated[float, Field(gt=0, le=10_000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- stations -----------------------------------------------------------------------------


class StationCreate(Input):
    as2_id: As2Id
    name: Name
    private_key_alias: Alias | None = Field(
        default=None,
        description="Default: the AS2 ID in lower case, any character but letters, digits and "
        ". _ @ - made _ (DISTCO: distco)",
    )
    email: Email | None = None
    mdn_signing_alg: Signing = SigningAlg.SHA256
    accepted_encryption_algs: list[Encryption] = Field(default_factory=lambda: list(EncryptionAlg))
    accepted_signing_algs: list[Signing] = Field(default_factory=lambda: list(SigningAlg))
    incoming_encoding: TransferEncoding = TransferEncoding.BINARY


class StationUpdate(Input):
    as2_id: As2Id | None = None
    name: Name | None = None
    private_key_alias: Alias | None = None
    email: Email | None = None
    mdn_signing_alg: Signing | None = None
    accepted_encryption_algs: list[Encryption] | None = None
    accepted_signing_algs: list[Signing] | None = None
    incoming_encoding: TransferEncoding | None = None


# --- partner HTTP authentication ----------------------------------------------------------


class NoAuthIn(Input):
    type: Literal["none"] = "none"


class BasicAuthIn(Input):
    type: Literal["basic"] = "basic"
    username: Annotated[str, Field(min_length=1, max_length=256)]
    password: SecretStr | None = Field(default=None, description="Write-only; kept if omitted")


class TokenRefreshIn(Input):
    uri: Annotated[str, Field(min_length=1, max_length=2048, description="Relative to as2_url")]
    method: Literal["POST", "GET", "PUT"] = "POST"
    media_type: str = "application/json"
    token_path: str = Field(
        default="access_token", description="Where the new token is in the reply"
    )
    headers: dict[str, SecretStr] | None = Field(
        default=None,
        description="Extra headers of the token request; write-only values, kept if omitted, "
        "{} removes them",
    )
    refresh_token: SecretStr | None = Field(default=None, description="Write-only; kept if omitted")


class TokenAuthIn(Input):
    type: Literal["token"] = "token"
    placement: TokenPlacement = "header"
    header_name: str = "Authorization"
    scheme: str = "Bearer"
    param_name: str = "access_token"
    body_field: str = "access_token"
    token: SecretStr | None = Field(default=None, description="Write-only; kept if omitted")
    refresh: TokenRefreshIn | None = None


HttpAuthIn = Annotated[NoAuthIn | BasicAuthIn | TokenAuthIn, Field(discriminator="type")]


# --- partner TLS --------------------------------------------------------------------------

CertificatesPem = Annotated[str | None, AfterValidator(partner_tls.certificates_pem)]
Pin = Annotated[str, AfterValidator(partner_tls.pin)]
ProxyUrl = Annotated[str | None, AfterValidator(partner_tls.proxy_url)]


class PartnerTlsIn(Input):
    """A partner's TLS settings (the contract's PartnerTls). In an update, only the fields
    given change; the others keep what is stored."""

    ca_bundle_pem: CertificatesPem = Field(
        default=None,
        description="PEM certificates trusted for the partner's server (its private CA, or its "
        "self-signed certificate) instead of the default bundle; empty or null: the bundle",
    )
    pinned_sha256: Annotated[list[Pin], AfterValidator(partner_tls.pins)] = Field(
        default_factory=list,
        description="SHA-256 (hex, colons allowed) of the server's certificate or of its public "
        "key; the server must match one, after verification. Empty: no pinning",
    )
    client_certificate: bool = Field(
        default=False,
        description="Present our client certificate (the partnership keystore's) when sending",
    )
    min_version: TlsVersion = Field(default="1.2", description="The lowest TLS version: 1.2 or 1.3")
    verify: bool = Field(
        default=True,
        description="false skips verifying the partner's server: test partners only; every send "
        "logs a warning",
    )
    proxy_url: ProxyUrl = Field(
        default=None,
        description="An http:// or https:// proxy for this partner, no credentials; null: the "
        "proxy environment variables",
    )
    follow_redirects: bool = Field(default=False, description="Follow HTTP redirects when sending")
    require_client_certificate: bool = Field(
        default=False,
        description="Receiving: a message from this partner must come over mutual TLS with a "
        "client certificate matching client_certificates_pem",
    )
    client_certificates_pem: CertificatesPem = Field(
        default=None,
        description="PEM: the partner's TLS client certificate(s), or the CA certificate(s) that "
        "issue them",
    )


# --- partners -----------------------------------------------------------------------------


_MDN_SIGNATURE = (
    "The partner's MDN signature: required (asked as required; an unsigned MDN fails the "
    "message), preferred (asked as optional; an unsigned MDN is delivery with a warning) or "
    "none (an unsigned MDN is asked for)"
)


_AS2_VERSION = (
    "The AS2-Version sent to the partner: 1.2 unless it asks for 1.1 or 1.0 (no compression)"
)


def _one_line(value: str) -> str:
    if any(ch < " " or ch == "\x7f" for ch in value):
        raise ValueError("must be one line, without control characters (it is a header's value)")
    return value


#: One line of text: a header's value (a line break would end the header and start another).
DefaultSubject = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_one_line)]


AsyncMdnNetwork = Annotated[str, Field(max_length=64), AfterValidator(mdn_networks.network)]
AsyncMdnNetworks = Annotated[list[AsyncMdnNetwork], AfterValidator(mdn_networks.networks)]


class PartnerFields(Input):
    """Settings shared by create and update; on update every field is optional."""

    email: Email | None = None
    mdn_signing_alg: OptionalSigning = SigningAlg.SHA256
    encryption_alg: OptionalEncryption = EncryptionAlg.AES256
    signing_alg: OptionalSigning = SigningAlg.SHA256
    signature_scheme: SignatureScheme = Field(
        default=SignatureScheme.PKCS1V15,
        description="How we sign for this partner: rsa-pkcs1v15, or rsassa-pss if it asks",
    )
    key_transport: KeyTransport = Field(
        default=KeyTransport.RSA_PKCS1V15,
        description="How the content key is wrapped: rsa-pkcs1v15, or rsa-oaep-sha256 if it asks",
    )
    accept_expired_mdn_certificate: bool = Field(
        default=False,
        description="Accept an MDN signed with a partner certificate past its expiry "
        "(partners who renew late); the signature must still verify",
    )
    canonicalize_line_endings: bool = Field(
        default=False,
        description="Every bare LF of the document as CRLF before signing, for partners that "
        "verify text in text mode (one document per message)",
    )
    replay_protection: bool = Field(
        default=True,
        description="Deliver a signed message once per signature, not once per Message-ID "
        "(which no signature covers): one whose signature was accepted already is answered "
        "as a duplicate, one whose signing time is outside inbound-svc's replay window is "
        "refused. On for new partners; partners created before it have it off until set",
    )
    auth_failure: AuthFailureDetection | None = None
    rate_limit_per_second: RatePerSecond | None = None
    async_mdn_url: Url | None = None
    async_mdn_networks: AsyncMdnNetworks = Field(
        default_factory=list,
        description=f"Networks (CIDR, e.g. 10.20.0.0/16; at most {MAX_ASYNC_MDN_NETWORKS}) that "
        "the async MDNs this partner's messages ask for may be POSTed to although they are not "
        "public (its on-premises MDN server), besides those inbound-svc allows every partner "
        "(AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS); [] on update: none",
    )
    max_attempts: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="Send attempts before failing (default: outbound-svc's)"
    )
    mdn_signature: MdnSignature | None = Field(default=None, description=_MDN_SIGNATURE)
    mdn_signed: bool | None = Field(
        default=None,
        description="Deprecated, the older form of mdn_signature: true = required, false = none",
    )

    @model_validator(mode="after")
    def _mdn_signature_from_mdn_signed(self) -> PartnerFields:
        """Clients of the older API send ``mdn_signed``: it becomes ``mdn_signature``."""
        if self.mdn_signed is None:
            return self
        signed: tuple[MdnSignature, ...] = ("required", "preferred")
        agrees = signed if self.mdn_signed else ("none",)
        if "mdn_signature" not in self.model_fields_set:
            self.mdn_signature = agrees[0]
        elif self.mdn_signature not in agrees:
            raise ValueError("mdn_signed contradicts mdn_signature: give mdn_signature only")
        return self

    async_mdn_deadline_seconds: Annotated[float, Field(gt=0, le=30 * 86400)] | None = Field(
        default=None, description="How long to wait for an async MDN (default: outbound-svc's)"
    )
    default_subject: DefaultSubject | None = Field(
        default=None,
        description="The Subject of messages to this partner whose send request names none "
        "(default: AS2 Message); null on update: back to that default",
    )

    # as2_version is declared after compression (in the subclasses) to be checked against it.
    @field_validator("as2_version", check_fields=False)
    @classmethod
    def _no_compression_in_as2_1_0(cls, value: str | None, info: ValidationInfo) -> str | None:
        compression = info.data.get("compression")
        if value == "1.0" and compression not in (None, Compression.NONE):
            raise ValueError(AS2_1_0_COMPRESSION)
        return value


class PartnerCreate(PartnerFields):
    as2_id: As2Id
    name: Name
    as2_alias: Alias | None = Field(
        default=None,
        description="Certificate alias; default: the AS2 ID in lower case, any character but "
        "letters, digits and . _ @ - made _ (ACME RETAIL: acme_retail)",
    )
    enabled: bool = True
    as2_url: Url
    mdn_mode: MdnMode = "sync"
    mdn_signature: MdnSignature = Field(default="required", description=_MDN_SIGNATURE)
    compression: Compression = Compression.NONE
    as2_version: As2Version = Field(default="1.2", description=_AS2_VERSION)
    outgoing_encoding: TransferEncoding = TransferEncoding.BINARY
    http_auth: HttpAuthIn = Field(default_factory=NoAuthIn)
    max_concurrency: Concurrency = MAX_PARTNER_CONCURRENCY
    tls: PartnerTlsIn = Field(default_factory=PartnerTlsIn)


class PartnerUpdate(PartnerFields):
    as2_id: As2Id | None = None
    name: Name | None = None
    as2_alias: Alias | None = None
    enabled: bool | None = None
    as2_url: Url | None = None
    mdn_mode: MdnMode | None = None
    compression: Compression | None = None
    as2_version: As2Version | None = Field(default=None, description=_AS2_VERSION)
    outgoing_encoding: TransferEncoding | None = None
    http_auth: HttpAuthIn | None = None
    max_concurrency: Concurrency | None = None
    tls: PartnerTlsIn | None = Field(
        default=None, description="Only the TLS fields given change; the others are kept"
    )


# --- partnerships -------------------------------------------------------------------------


class PartnershipCreate(Input):
    station_id: uuid.UUID
    partner_id: uuid.UUID
    enabled: bool = True


class PartnershipUpdate(Input):
    enabled: bool
