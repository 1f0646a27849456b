"""The SSLContext we speak TLS with to one partner, from its TLS settings (PartnerTls).

Trust: the partner's own CA certificates instead of the service's bundle when it has some,
else the system's and the service's bundle (outbound-svc's ``AS2BUS_OUTBOUND_CA_BUNDLE``); no
verification at all for a test partner with ``verify`` off. The lowest TLS version. Our client
certificate when the partner demands one: the private key goes from memory into OpenSSL without
touching a disk (``as2bus.shared.tls_files``). Pinning is checked after the handshake
(``pinning``), not here: OpenSSL offers Python no hook for it.
"""

from __future__ import annotations

import ssl

from as2bus.contracts.config import PartnerTls
from as2bus.shared.partner_tls.identity import ClientIdentity
from as2bus.shared.tls_files import load_key_and_chain

MINIMUM_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


class TlsSetupError(ValueError):
    """A partner's TLS settings (or our client certificate) that OpenSSL cannot use; the
    message is one sentence for the tracklog, never a key."""


def default_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Verification on, against the system's CAs and the optional bundle of the service."""
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def partner_context(
    tls: PartnerTls, *, ca_bundle: str | None, identity: ClientIdentity | None
) -> ssl.SSLContext:
    """A new context for one partner (each client has its own: contexts are not shared
    between partners, so one partner's trust never widens another's)."""
    if tls.ca_bundle_pem:
        try:
            # With cadata, only these certificates are trusted: not the system's, not the bundle.
            context = ssl.create_default_context(cadata=tls.ca_bundle_pem)
        except (ssl.SSLError, ValueError) as err:
            raise TlsSetupError(
                f"the partner's CA certificates (TLS settings) cannot be read: {_why(err)}"
            ) from None
    else:
        context = default_context(ca_bundle)
    context.minimum_version = MINIMUM_VERSIONS[tls.min_version]
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.client_certificate:
        if identity is None:
            raise TlsSetupError(
                "the partner's TLS settings present our client certificate, but the "
                "partnership has no key of ours to present"
            )
        load_identity(context, identity)
    return context


def load_identity(context: ssl.SSLContext, identity: ClientIdentity) -> None:
    """Our key and certificate into ``context``, from memory only (see the module's doc)."""
    try:
        load_key_and_chain(context, identity.key_pem, identity.cert_pem)
    except ssl.SSLError as err:
        raise TlsSetupError(
            f"our TLS client certificate (version {identity.version}) cannot be used: {_why(err)}"
        ) from None


def _why(err: Exception) -> str:
    reason = getattr(err, "reason", None)
    return str(reason or err or type(err).__name__)
