"""What cert-svc's API accepts and returns. Keystore passwords are write-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from as2bus.contracts.certs import CertificateSummary, CertSource
from as2bus.contracts.config import ALIAS_PATTERN
from as2bus.contracts.envelope import Contract
from as2bus.shared.errors import sentence_error


def _sentence(code: str, sentence: str) -> WrapValidator:
    """Replace pydantic's wording ("at least 8 items") by one sentence for people."""

    def validate(value: object, handler: ValidatorFunctionWrapHandler) -> object:
        try:
            return handler(value)
        except ValidationError:
            raise sentence_error(code, sentence) from None

    return WrapValidator(validate)


Alias = Annotated[
    str,
    Field(pattern=ALIAS_PATTERN, description="Certificate alias"),
    _sentence(
        "invalid_alias",
        "an alias is 1 to 128 letters, digits and . _ @ - (no spaces), e.g. myco or myco@amazon",
    ),
]
KeyBits = Annotated[
    Literal[2048, 3072, 4096],
    _sentence("invalid_key_bits", "the RSA key size must be 2048, 3072 or 4096 bits"),
]
ValidityDays = Annotated[
    int,
    Field(ge=1, le=3650),
    _sentence("invalid_validity_days", "the validity must be 1 to 3650 days"),
]
PASSWORD_RULE = "the export password must be at least 8 characters long (and at most 256)"
Password = Annotated[
    SecretStr, Field(min_length=8, max_length=256), _sentence("invalid_password", PASSWORD_RULE)
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateOwn(Input):
    """A new key and self-signed certificate for one of our aliases (a rotation if it has one)."""

    alias: Alias
    common_name: str | None = Field(default=None, max_length=64, description="Defaults to alias")
    organization: str | None = Field(default=None, max_length=64)
    key_bits: KeyBits = 2048
    validity_days: ValidityDays = 730
    activation_at: datetime | None = Field(default=None, description="Default: now")
    retire_previous_at: datetime | None = Field(
        default=None,
        description="When the alias's older certificates stop; default: activation + switchover",
    )


class Reschedule(Input):
    activation_at: datetime | None = None
    retirement_at: datetime | None = None


class KeystoreCreate(Input):
    station: str = Field(description="Our station's AS2 ID")
    partner: str = Field(description="The partner's AS2 ID")
    password: Password = Field(description="Protects exports; cannot be changed later")
    private_key_alias: Alias | None = Field(
        default=None,
        description="Default: a new key's alias is STATIONALIAS@PARTNERALIAS (this partnership's "
        "own); with own_key=existing, the station's alias",
    )
    partner_cert_alias: Alias | None = Field(default=None, description="Default: the partner's")
    partner_certificate: Annotated[
        str | None,
        Field(max_length=64 * 1024),
        _sentence(
            "certificate_too_large",
            "the partner's certificate is larger than 64 KiB: choose the certificate file "
            "itself (.cer, .crt, .pem or .der)",
        ),
    ] = Field(
        default=None,
        description="The partner's certificate (PEM, or DER in base64), stored under "
        "partner_cert_alias in the same transaction as the keystore: refused, neither is "
        "stored. One already in service under that alias is kept as it is",
    )
    partner_certificate_password: str | None = Field(
        default=None,
        max_length=1024,
        description="When partner_certificate is a PKCS#12 file (in base64): its password",
    )
    partner_certificate_entry: str | None = Field(
        default=None,
        max_length=256,
        description="When partner_certificate is a PKCS#12 file holding several certificates "
        "(OpenAS2's as2_certs.p12): the partner's entry",
    )
    own_key: Annotated[
        Literal["generate", "existing"],
        _sentence("invalid_own_key", "own_key must be 'generate' or 'existing'"),
    ] = "generate"
    key_bits: KeyBits = 2048
    validity_days: ValidityDays = 730


class KeystoreRotate(Input):
    """A new generated key for a keystore's partnership; its previous keys retire after the
    window. A key alias other partnerships share is left to them: this one gets its own."""

    key_bits: KeyBits = 2048
    validity_days: ValidityDays = 730
    activation_at: datetime | None = Field(default=None, description="Default: now")
    retire_previous_at: datetime | None = Field(
        default=None,
        description="When the previous keys stop; default: activation + switchover",
    )


class UsedBy(Contract):
    stations: list[str] = Field(default_factory=list)
    partners: list[str] = Field(default_factory=list)
    #: Own keys: the partnerships (STATION:PARTNER) that sign and decrypt with this alias.
    partnerships: list[str] = Field(default_factory=list)


class CertificateView(CertificateSummary):
    source: CertSource
    state: Literal["pending", "active", "retired", "expired"]
    days_left: int
    key_bits: int
    has_private_key: bool
    used_by: UsedBy
    warnings: list[str] = Field(default_factory=list)


class KeystoreView(Contract):
    id: uuid.UUID
    station_as2_id: str
    partner_as2_id: str
    private_key_alias: str
    partner_cert_alias: str
    created_at: datetime
    own_certificates: list[CertificateView]
    partner_certificates: list[CertificateView]
    #: On import: what is odd about the imported certificate (dates), stored anyway.
    warnings: list[str] = Field(default_factory=list)
