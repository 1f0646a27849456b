"""The two sides of a send: our station's signing key, the partner's certificates and settings
(with the request's overrides applied), from the config replica and the key ring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from as2bus.as2 import KeyPair, LocalParty, PartnershipConfigError, RemoteParty
from as2bus.as2.algorithms import (
    Compression,
    EncryptionAlg,
    KeyTransport,
    SignatureScheme,
    SigningAlg,
    TransferEncoding,
)
from as2bus.contracts import (
    MdnSignature,
    PartnerState,
    SendOverrides,
    StationState,
    TokenAuthPublic,
)
from as2bus.outbound.ports import KeyMaterial
from as2bus.outbound.posting import ClientIdentity
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.keyring import CertificateUnavailableError, KeyRing
from as2bus.shared.partner_tls.identity import client_identity
from as2bus.shared.party_names import PartyCheck

#: How long after a message is built its sync MDN may still be signed: longer than any POST
#: (AS2BUS_OUTBOUND_HTTP_TIMEOUT_SECONDS, 120 s by default). A partner certificate that comes
#: into service within it verifies the MDN: the partner switches keys when it said it would,
#: and the answer to a message sent a moment before is signed with the new one.
SYNC_ANSWER_HORIZON = timedelta(hours=1)

#: Disposition-Notification-To for a station without an e-mail: any value asks for an MDN.
ANONYMOUS_RECEIPT_TO = "as2bus"


class PartnershipUnavailableError(LookupError):
    """No enabled partnership between the station and the partner (a reason a person can act on)."""


@dataclass(frozen=True)
class Sides:
    station: StationState
    partner: PartnerState
    local: LocalParty
    remote: RemoteParty
    #: Our TLS client certificate, when the partner's TLS settings present it.
    tls_identity: ClientIdentity | None = None

    @property
    def receipt_to(self) -> str:
        """The MDN request's Disposition-Notification-To: the station's e-mail, as OpenAS2 and
        others send an address of the sender there (partners log it, some check it does not
        change); the MDN itself still comes back over HTTP."""
        return self.station.email or ANONYMOUS_RECEIPT_TO


async def current_sides(
    config: ConfigReplica, station_id: str, partner_id: str
) -> tuple[StationState, PartnerState]:
    """``find_sides``; on a miss, once more after the replica has caught up with every
    configuration change stored so far (a partnership created a moment ago)."""
    try:
        return find_sides(config, station_id, partner_id)
    except PartnershipUnavailableError:
        if not await config.catch_up():
            raise
    return find_sides(config, station_id, partner_id)


def find_sides(
    config: ConfigReplica, station_id: str, partner_id: str
) -> tuple[StationState, PartnerState]:
    link = config.find_partnership(station_id, partner_id)
    if link is None:
        # Which AS2 ID is unknown, and the one meant when only its case is wrong (--to acme).
        stations = (s.as2_id for s in config.stations.values())
        partners = (p.as2_id for p in config.partners.values())
        check = PartyCheck.of(station_id, partner_id, stations, partners)
        raise PartnershipUnavailableError(check.reason())
    station, partner = config.stations.get(link.station_id), config.partners.get(link.partner_id)
    if station is None or partner is None:
        raise PartnershipUnavailableError(
            f"partnership {station_id!r} -> {partner_id!r} is incomplete"
        )
    if not link.enabled:
        raise PartnershipUnavailableError(
            f"partnership {station_id!r} -> {partner_id!r} is disabled"
        )
    if not partner.enabled:
        raise PartnershipUnavailableError(f"partner {partner_id!r} is disabled")
    return station, partner


async def resolve_sides(
    config: ConfigReplica,
    keys: KeyMaterial,
    station_id: str,
    partner_id: str,
    overrides: SendOverrides | None,
    *,
    async_mdn_url: str | None,
    at: datetime,
) -> Sides:
    """Raises PartnershipUnavailableError, CertificateUnavailableError (CERT_HAS_EXPIRED…) or
    PartnershipConfigError (overrides the partnership cannot send with)."""
    station, partner = await current_sides(config, station_id, partner_id)
    try:
        return _sides(station, partner, await keys.keyring(), keys, overrides, async_mdn_url, at)
    except CertificateUnavailableError as err:
        if err.reason != "CERT_NOT_FOUND":
            raise
    # Stored a moment ago, a certificate's event may not have reached our cache yet: ask
    # cert-svc once more before the message fails for it.
    ring = await keys.keyring(fresh=True)
    return _sides(station, partner, ring, keys, overrides, async_mdn_url, at)


def _sides(
    station: StationState,
    partner: PartnerState,
    ring: KeyRing,
    keys: KeyMaterial,
    overrides: SendOverrides | None,
    async_mdn_url: str | None,
    at: datetime,
) -> Sides:
    o = overrides or SendOverrides()
    _check_overrides(partner, o, async_mdn_url)
    signing = o.signing or partner.signing_alg
    encryption = o.encryption or partner.encryption_alg
    mdn_mode = o.mdn_mode or partner.mdn_mode
    key = None
    signed_mdn = partner.mdn_signature != "none"
    if signing is not None or (mdn_mode != "none" and signed_mdn):
        entry = ring.partnership_signing_key(
            station.as2_id, partner.as2_id, station.private_key_alias, at
        )
        key = KeyPair(keys.private_key_pem(entry), entry.cert_pem.encode())
    encrypt_cert = None
    if encryption is not None:
        encrypt_cert = ring.encryption_certificate(partner.as2_alias, at).cert_pem.encode()
    # What the partner's MDNs are verified with: expired ones too, for the codec to judge, and
    # those coming into service while the answer may still come (a rotation at this second).
    certs = ring.verification_certificates(
        partner.as2_alias, at, expired_too=True, coming_until=at + SYNC_ANSWER_HORIZON
    )
    verify = [e.cert_pem.encode() for e in certs]
    # The contracts name the algorithms with their own enums (equal values): the codec's are
    # what the codec takes.
    remote = RemoteParty(
        as2_id=partner.as2_id,
        verify_certs=verify,
        encrypt_cert=encrypt_cert,
        signing=SigningAlg(signing) if signing else None,
        signature_scheme=SignatureScheme(partner.signature_scheme),
        encryption=EncryptionAlg(encryption) if encryption else None,
        key_transport=KeyTransport(partner.key_transport),
        canonicalize_line_endings=partner.canonicalize_line_endings,
        as2_version=partner.as2_version,
        compression=Compression(o.compression or partner.compression),
        encoding=TransferEncoding(o.encoding or partner.outgoing_encoding),
        mdn_mode=None if mdn_mode == "none" else mdn_mode,
        mdn_signing=SigningAlg(partner.mdn_signing_alg)
        if signed_mdn and partner.mdn_signing_alg
        else None,
        mdn_signing_required=partner.mdn_signature == "required",
        async_mdn_url=(partner.async_mdn_url or async_mdn_url) if mdn_mode == "async" else None,
    )
    local = LocalParty(as2_id=station.as2_id, signing=key)
    identity = client_identity(ring, keys, station, partner, at)
    return Sides(station, partner, local, remote, identity)


def _check_overrides(partner: PartnerState, o: SendOverrides, async_mdn_url: str | None) -> None:
    """Overrides this partner cannot be sent with, said in the gateway's terms (the codec's
    check_sides would say it too, in its own): config-svc keeps a partner's own settings
    consistent, a request's overrides are checked here."""
    if o.mdn_mode == "async" and not (partner.async_mdn_url or async_mdn_url):
        raise PartnershipConfigError(
            f"overrides.mdn_mode 'async': {partner.as2_id} would have no URL to send its MDN "
            "to (it has no async MDN URL of its own, and AS2BUS_OUTBOUND_ASYNC_MDN_URL is not "
            "set); set AS2BUS_OUTBOUND_ASYNC_MDN_URL to our inbound endpoint's public URL, or "
            "leave the override out"
        )
    if o.compression not in (None, "none") and partner.as2_version == "1.0":
        raise PartnershipConfigError(
            f"overrides.compression {str(o.compression)!r}: {partner.as2_id} speaks AS2 1.0, "
            "which has no compression; leave the override out"
        )


def mdn_signature(remote: RemoteParty) -> MdnSignature:
    """The MDN signature a message to ``remote`` asks for (what its MDN is judged by)."""
    if remote.mdn_mode is None or remote.mdn_signing is None:
        return "none"
    return "required" if remote.mdn_signing_required else "preferred"


def can_stream(sides: Sides) -> bool:
    """Whether a large document can be sent without holding it: the codec streams every
    layout, but a token "in the body" wraps the AS2 message in a form, built in memory."""
    auth = sides.partner.http_auth
    return not (isinstance(auth, TokenAuthPublic) and auth.placement == "body")


__all__ = [
    "CertificateUnavailableError",
    "PartnershipConfigError",
    "PartnershipUnavailableError",
    "Sides",
    "can_stream",
    "mdn_signature",
    "resolve_sides",
]
