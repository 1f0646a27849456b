"""Where an asynchronous MDN may be POSTed, with no I/O.

The Receipt-Delivery-Option URL is a header of the partner's message that no signature
covers: whoever can post to our endpoint (or replay a message captured on its way) chooses
it. Left unchecked, inbound-svc would POST, with retries, to whatever it names: our own
services on loopback, the cloud's metadata address, anything on the private network
(server-side request forgery). So an MDN goes only to public addresses: a host that resolves
to any loopback, link-local, private (RFC 1918, IPv6 unique local), shared (RFC 6598),
multicast, unspecified or otherwise reserved address is refused, not retried, unless the
address lies in a network the operator allows: for every partner
(``AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS``: the loopback demo), or for the MDNs of one
partner's messages only (its ``async_mdn_networks``: an on-premises partner on a private
network, which no other partner's message may then make us call).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The settings that allow networks, named in every refusal.
ALLOWED_SETTING = "AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS"
PARTNER_SETTING = "the partner's async_mdn_networks"


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    """The allowed networks from their CIDR notation ("10.20.0.0/16", "fd00::/8", or one
    address); raises ValueError naming the one that is not a network."""
    found: list[Network] = []
    for value in values:
        try:
            found.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a network: write one as an address or in CIDR notation, "
                'e.g. "10.20.0.0/16"'
            ) from None
    return tuple(found)


def partner_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """A partner's own networks, as config-svc published them (checked there); one that is
    not a network, or that is every address, allows nothing rather than stop the MDNs."""
    found: list[Network] = []
    for value in values:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            continue
        if network.prefixlen > 0:
            found.append(network)
    return tuple(found)


def judged(text: str) -> Address:
    """The address ``text`` is, as judged: an IPv4 address written as IPv6
    (``::ffff:127.0.0.1``) is the IPv4 address it is; an IPv6 zone (``%eth0``) is left out."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def kind_of(address: Address) -> str | None:
    """What makes ``address`` one an MDN must not reach ("loopback", "private", ...), or None
    for a public one."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


@dataclass(frozen=True)
class MdnTargets:
    """The rule: public addresses, and those in ``allowed``."""

    allowed: tuple[Network, ...] = ()

    def also(self, networks: tuple[Network, ...]) -> MdnTargets:
        """The rule for one partner's messages: its own networks allowed too."""
        return MdnTargets(self.allowed + networks) if networks else self

    def refusal(self, host: str, addresses: Iterable[str]) -> str | None:
        """Why an MDN may not go to ``host``, which resolves to ``addresses``; None when every
        one of them may be reached (any one refused refuses the host: the connection could
        go to any of them)."""
        for text in addresses:
            address = judged(text)
            kind = kind_of(address)
            if kind is None or any(address in network for network in self.allowed):
                continue
            where = host if host == text else f"{host} ({text})"
            return (
                f"an asynchronous MDN is not posted to {where}, a {kind} address; "
                f"{ALLOWED_SETTING}, or {PARTNER_SETTING}, must allow its network for that"
            )
        return None

    def allows(self, address: str) -> bool:
        return self.refusal(address, [address]) is None
