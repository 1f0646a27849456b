"""What an admin is warned of when a partner is created or changed: settings that work but put
us at risk, in the same sentences wherever they are shown (config-svc's log, the CLI, the
console). Warnings, not refusals: a test partner, or an odd network, may need them."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


def unprotected(as2_id: str) -> str:
    """A partner that needs neither a signature nor encryption: inbound-svc requires of its
    messages what we do for it, so nothing shows who sent them."""
    return (
        f"{as2_id} needs neither a signature nor encryption: anyone who can reach our AS2 "
        f"endpoint can send documents as {as2_id}; set signing (and encryption) unless it is "
        "a test partner"
    )


def _odd_address(host: str) -> str | None:
    """What an address written in a URL is when no partner's server can be there (the
    cloud's metadata service is link-local); None for a name, or an address that may be one
    (public, private, loopback: on-premises partners and the demo are)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local:
        return "a link-local address (169.254.169.254 is the cloud's metadata service)"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    return None


def odd_url(as2_id: str, url: str) -> str | None:
    """A partner's AS2 URL naming an address no partner's server can have, or None."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    odd = _odd_address(host)
    if odd is None:
        return None
    return (
        f"{as2_id}'s AS2 URL names {host}, {odd}: messages and connection tests to "
        f"{as2_id} go there; check that it is the partner's server"
    )


def partner_warnings(partner: Mapping[str, Any]) -> list[str]:
    """The warnings about a partner's settings (as the API gives them), none for most."""
    as2_id = str(partner.get("as2_id") or "the partner")
    found = []
    algorithms = ("signing_alg", "encryption_alg")  # null in the API ("none" as typed)
    if all(name in partner and partner[name] in (None, "none") for name in algorithms):
        found.append(unprotected(as2_id))
    url = odd_url(as2_id, str(partner.get("as2_url") or ""))
    if url is not None:
        found.append(url)
    return found
