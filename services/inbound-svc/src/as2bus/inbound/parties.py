"""Who a message is between, and with which keys: from the config replica and the key ring.

A partnership's required security is the partner's own setting: a partner configured to sign
(encrypt) what we send it must also sign (encrypt) what it sends us.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from as2bus.as2 import KeyPair, LocalParty, RemoteParty, UnknownPartyError
from as2bus.as2.algorithms import Compression, EncryptionAlg, SigningAlg, TransferEncoding
from as2bus.contracts import PartnerState, StationState
from as2bus.inbound.domain import NoPartnershipError
from as2bus.shared.bus.keys import KeyMaterialClient
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.keyring import CertificateUnavailableError, KeyRing
from as2bus.shared.partner_tls.identity import ClientIdentity, client_identity
from as2bus.shared.party_names import PartyCheck


@dataclass(frozen=True)
class Parties:
    station: StationState
    partner: PartnerState
    local: LocalParty
    remote: RemoteParty


class PartyResolver:
    def __init__(self, config: ConfigReplica, keys: KeyMaterialClient) -> None:
        self._config = config
        self._keys = keys

    def partner_by_as2_id(self, as2_id: str) -> PartnerState | None:
        return next((p for p in self._config.partners.values() if p.as2_id == as2_id), None)

    def partners(self) -> Iterable[PartnerState]:
        return self._config.partners.values()

    def station_by_as2_id(self, as2_id: str) -> StationState | None:
        return next((s for s in self._config.stations.values() if s.as2_id == as2_id), None)

    async def resolve(self, as2_from: str, as2_to: str) -> Parties:
        link = self._config.find_partnership(as2_to, as2_from)
        if link is None and await self._config.catch_up():  # configured a moment ago?
            link = self._config.find_partnership(as2_to, as2_from)
        if link is None:
            stations = (s.as2_id for s in self._config.stations.values())
            partners = (p.as2_id for p in self._config.partners.values())
            raise NoPartnershipError(PartyCheck.of(as2_to, as2_from, stations, partners))
        station = self._config.stations.get(link.station_id)
        partner = self._config.partners.get(link.partner_id)
        if station is None or partner is None:
            raise UnknownPartyError(f"partnership {as2_to!r}/{as2_from!r} is incomplete")
        if not link.enabled or not partner.enabled:
            raise UnknownPartyError(f"partnership {as2_to!r}/{as2_from!r} is disabled")
        now = datetime.now(UTC)
        parties = self._parties(station, partner, await self._keys.keyring(), now)
        if not parties.local.decryption or not parties.remote.verify_certs:
            # Stored a moment ago, a certificate's event may not have reached our cache yet:
            # ask cert-svc once more before the message is refused for it.
            parties = self._parties(station, partner, await self._keys.keyring(fresh=True), now)
        return parties

    def _parties(
        self, station: StationState, partner: PartnerState, ring: KeyRing, now: datetime
    ) -> Parties:
        # The partnership's own key (its keystore's), every one in service during a rotation.
        own_alias = ring.own_alias(station.as2_id, partner.as2_id, station.private_key_alias)
        decryption = [
            KeyPair(self._keys.private_key_pem(e), e.cert_pem.encode())
            for e in ring.decryption_keys(own_alias, now)
        ]
        try:
            signer = ring.signing_key(own_alias, now)
            signing: KeyPair | None = KeyPair(
                self._keys.private_key_pem(signer), signer.cert_pem.encode()
            )
        except CertificateUnavailableError:
            signing = (
                None  # we can still answer, unsigned; a partner requiring signed MDNs will say so
            )
        verify = [
            e.cert_pem.encode() for e in ring.verification_certificates(partner.as2_alias, now)
        ]
        local = LocalParty(as2_id=station.as2_id, signing=signing, decryption=decryption)
        remote = RemoteParty(
            as2_id=partner.as2_id,
            verify_certs=verify,
            # The contracts name the algorithms with their own enums (equal values): the
            # codec's are what the codec takes.
            signing=SigningAlg(partner.signing_alg) if partner.signing_alg else None,
            encryption=EncryptionAlg(partner.encryption_alg) if partner.encryption_alg else None,
            compression=Compression(partner.compression),
            encoding=TransferEncoding(partner.outgoing_encoding),
            require_signed=partner.signing_alg is not None,
            require_encrypted=partner.encryption_alg is not None,
        )
        return Parties(station, partner, local, remote)

    async def mdn_verify_certs(self, partner: PartnerState) -> list[bytes]:
        """What verifies the partner's MDN: its certificates in service, expired ones too (the
        codec judges them against the signing time and the partner's setting)."""
        ring = await self._keys.keyring()
        now = datetime.now(UTC)
        found = ring.verification_certificates(partner.as2_alias, now, expired_too=True)
        return [e.cert_pem.encode() for e in found]

    async def signer_for(
        self, station_as2_id: str | None, partner_as2_id: str | None = None
    ) -> LocalParty | None:
        """Our party for signing a negative MDN when no partnership could be resolved."""
        station = self.station_by_as2_id(station_as2_id) if station_as2_id else None
        if station is None:
            return None
        ring = await self._keys.keyring()
        alias = ring.own_alias(station.as2_id, partner_as2_id or "", station.private_key_alias)
        try:
            signer = ring.signing_key(alias, datetime.now(UTC))
        except CertificateUnavailableError:
            return LocalParty(as2_id=station.as2_id, signing=None)
        pair = KeyPair(self._keys.private_key_pem(signer), signer.cert_pem.encode())
        return LocalParty(as2_id=station.as2_id, signing=pair)

    async def tls_identity(
        self, station_as2_id: str | None, partner: PartnerState
    ) -> ClientIdentity | None:
        """Our TLS client certificate for a request to ``partner`` (an async MDN), when its TLS
        settings present it: the partnership's key, as outbound-svc presents it. None when
        they do not, or when we have no key to present (the send then says so)."""
        station = self.station_by_as2_id(station_as2_id) if station_as2_id else None
        if station is None or not partner.tls.client_certificate:
            return None
        ring = await self._keys.keyring()
        try:
            return client_identity(ring, self._keys, station, partner, datetime.now(UTC))
        except CertificateUnavailableError:
            return None
