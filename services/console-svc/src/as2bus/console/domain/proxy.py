"""Single sign-on behind an authenticating proxy (oauth2-proxy and the like): the proxy signs
the person in and passes who they are and their groups in headers. Those headers are believed
only from the configured proxy addresses; the groups map to a role."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from as2bus.console.domain.roles import Role


@dataclass(frozen=True)
class TrustedProxy:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    user_header: str = "X-Forwarded-Email"
    groups_header: str = "X-Forwarded-Groups"
    group_roles: dict[str, Role] = field(default_factory=dict)
    default_role: Role | None = None  # for a person in none of the mapped groups; None: refused

    @classmethod
    def parse(
        cls,
        addresses: list[str],
        group_roles: dict[str, str],
        default_role: str | None,
        **headers: str,
    ) -> TrustedProxy:
        return cls(
            networks=tuple(ipaddress.ip_network(a.strip(), strict=False) for a in addresses),
            group_roles={group: Role.named(role) for group, role in group_roles.items()},
            default_role=Role.named(default_role) if default_role else None,
            **headers,
        )

    def trusts(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def role_for(self, groups: str | None) -> Role | None:
        """The highest role any of the groups (comma-separated) maps to."""
        names = [g.strip() for g in (groups or "").split(",") if g.strip()]
        mapped = [self.group_roles[g] for g in names if g in self.group_roles]
        return max(mapped) if mapped else self.default_role
