"""Our TLS client certificate for a partner that demands one (``PartnerTls.client_certificate``):
the key and certificate the partnership signs with, so rotating that key rotates this one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from as2bus.contracts import KeyMaterialEntry, PartnerState, StationState
from as2bus.shared.keyring import KeyRing


@dataclass(frozen=True)
class ClientIdentity:
    """Our TLS client certificate for a partner that demands one: the key and certificate of
    the partnership's keystore (its station's key alias without one). ``version`` names the
    certificate (cert-svc's id): a rotation gives a new version, hence a new HTTP client."""

    version: str
    cert_pem: bytes
    key_pem: bytes = field(repr=False)  # never in a log line or an error


class PrivateKeys(Protocol):
    """Opens a sealed private key of ours (``shared.bus.keys.KeyMaterialClient``)."""

    def private_key_pem(self, entry: KeyMaterialEntry) -> bytes: ...


def client_identity(
    ring: KeyRing, keys: PrivateKeys, station: StationState, partner: PartnerState, at: datetime
) -> ClientIdentity | None:
    """Our TLS client certificate for the partnership, when the partner's TLS settings want
    it presented: the key and certificate the partnership signs with (its keystore's, else
    its station's). Raises ``CertificateUnavailableError`` when there is none in service."""
    if not partner.tls.client_certificate:
        return None
    own_alias = ring.own_alias(station.as2_id, partner.as2_id, station.private_key_alias)
    entry = ring.signing_key(own_alias, at)
    return ClientIdentity(str(entry.id), entry.cert_pem.encode(), keys.private_key_pem(entry))
