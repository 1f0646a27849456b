"""What a partner's ``async_mdn_networks`` accepts, checked as the operator types them. No I/O.

inbound-svc POSTs an async MDN to the URL the message names, which no signature covers; these
networks let the MDNs of one partner's messages reach addresses that are not public (its
on-premises server, over a VPN). So each one is a real network, written the one way
inbound-svc reads it, and the list stays short and never allows every address.
"""

from __future__ import annotations

import ipaddress

from as2bus.contracts.config import MAX_ASYNC_MDN_NETWORKS


def network(value: str) -> str:
    """One network in CIDR notation, as written canonically ("10.20.0.0/16"; an address
    alone is a network of one address; host bits are dropped: 10.20.1.2/16 is 10.20.0.0/16)."""
    text = value.strip()
    try:
        found = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"{text} is not a network: write an address or a network in CIDR notation, "
            "e.g. 10.20.0.0/16"
        ) from None
    if found.prefixlen == 0:
        raise ValueError(
            f"{text} would allow every address: name the partner's own network, e.g. 10.20.0.0/16"
        )
    return str(found)


def networks(values: list[str]) -> list[str]:
    """Each network once, in the order given; at most MAX_ASYNC_MDN_NETWORKS."""
    unique = list(dict.fromkeys(network(value) for value in values))
    if len(unique) > MAX_ASYNC_MDN_NETWORKS:
        raise ValueError(
            f"holds {len(unique)} networks; at most {MAX_ASYNC_MDN_NETWORKS}: name the "
            "networks of the partner's MDN servers, or wider ones that hold them"
        )
    return unique
