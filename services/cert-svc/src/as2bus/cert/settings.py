"""cert-svc settings: the shared chassis plus certificate policy (``AS2BUS_CERT_*``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from as2bus.shared.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    # The chassis prefix is AS2BUS_; policy settings read AS2BUS_CERT_<NAME> to say whose they are.
    # Only the prefixed variable: a bare alias such as "path" would read $PATH.
    return AliasChoices(f"AS2BUS_CERT_{name.upper()}")


class CertSettings(ServiceSettings):
    http_port: int = Field(default=8082, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/cert.db"
    relay_idle_seconds: float = Field(default=1.0, gt=0)
    expiry_thresholds_days: list[int] = Field(
        default=[30, 14, 7, 1],
        validation_alias=_env("expiry_thresholds_days"),
        description="Send CertExpiring when days left reach each of these",
    )
    expiry_check_seconds: float = Field(
        default=3600, gt=0, validation_alias=_env("expiry_check_seconds")
    )
    switchover_days: float = Field(
        default=7,
        ge=0,
        validation_alias=_env("switchover_days"),
        description="Default overlap of old and new certificate on rotation",
    )
    min_key_bits: int = Field(default=2048, ge=2048, validation_alias=_env("min_key_bits"))
