"""What cert-svc's API accepts and returns. Keystore passwords are write-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from as2bus.shared.contracts.certs import CertificateSummary, CertSource
from as2bus.shared.contracts.config import ALIAS_PATTERN
from as2bus.shared.contracts.envelope import Contract

Alias = Annotated[str, Field(pattern=ALIAS_PATTERN, description="Certificate alias")]
KeyBits = Literal[2048, 3072, 4096]
ValidityDays = Annotated[int, Field(ge=1, le=3650)]
Password = Annotated[SecretStr, Field(min_length=8, max_length=256)]


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
    private_key_alias: Alias | None = Field(default=None, description="Default: the station's")
    partner_cert_alias: Alias | None = Field(default=None, description="Default: the partner's")
    own_key: Literal["generate", "existing"] = "generate"
    key_bits: KeyBits = 2048
    validity_days: ValidityDays = 730


class UsedBy(Contract):
    stations: list[str] = Field(default_factory=list)
    partners: list[str] = Field(default_factory=list)


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
