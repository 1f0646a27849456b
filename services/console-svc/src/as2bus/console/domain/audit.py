"""The audit trail's entries, from configuration and certificate events: what was changed (the
kind of thing and its name), by whom, and how. No I/O: the bus consumer and the page use it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Events that are changes somebody made (expiry warnings are the gateway's own observations).
_AUDITED = {
    "StationCreated", "StationUpdated", "StationDeleted",
    "PartnerCreated", "PartnerUpdated", "PartnerDeleted",
    "PartnershipCreated", "PartnershipUpdated", "PartnershipDeleted",
    "CertImported", "CertRotated", "KeystoreCreated",
    "NotificationChannelCreated", "NotificationChannelUpdated", "NotificationChannelDeleted",
    "NotificationRuleCreated", "NotificationRuleUpdated", "NotificationRuleDeleted",
}  # fmt: skip
#: As the audit trail stores them (at most 16 characters) and its filter offers them.
ENTITIES = ("station", "partner", "partnership", "certificate", "keystore", "user",
            "notify-channel", "notify-rule")  # fmt: skip
#: Event type prefix → entity, longest first (Partnership before Partner).
_ENTITY_OF = {
    "NotificationChannel": "notify-channel", "NotificationRule": "notify-rule",
    "Partnership": "partnership", "Partner": "partner", "Station": "station",
    "Keystore": "keystore", "Cert": "certificate",
}  # fmt: skip
#: Said for changes recorded before changes carried who made them.
UNRECORDED = "not recorded (before the audit trail)"


@dataclass(frozen=True)
class AuditEntry:
    event_id: uuid.UUID
    occurred_at: datetime
    actor: str
    action: str  # created, updated, deleted, imported, rotated
    entity: str  # one of ENTITIES
    label: str  # the thing's name as people know it: an AS2 ID, "MYCO → ACME", an alias
    changes: dict[str, Any]


def audit_entry(event: dict[str, Any]) -> AuditEntry | None:
    """The entry for a configuration or certificate event (its JSON), None for any other."""
    kind = event.get("event_type", "")
    if kind not in _AUDITED:
        return None
    data, audit = event.get("data") or {}, event.get("audit") or {}
    entity, action = _split(kind)
    return AuditEntry(
        event_id=uuid.UUID(str(event["event_id"])),
        occurred_at=datetime.fromisoformat(str(event["occurred_at"])),
        actor=str(audit.get("actor") or UNRECORDED),
        action=action,
        entity=entity,
        label=_label(entity, data),
        changes=dict(audit.get("changes") or {}) or _facts(entity, data),
    )


def _facts(entity: str, data: dict[str, Any]) -> dict[str, Any]:
    """cert-svc's events carry facts rather than a list of changes: the ones that matter."""
    if entity == "keystore":
        names = ("private_key_alias", "partner_cert_alias")
        return {name: {"from": None, "to": data.get(name)} for name in names}
    if entity != "certificate":
        return {}
    certificate = data.get("certificate") or data
    facts = {
        name: certificate.get(name)
        for name in ("subject", "fingerprint_sha256", "not_after", "activation_at", "retirement_at")
    }
    if data.get("change"):
        facts["change"] = data["change"]
    return {name: {"from": None, "to": value} for name, value in facts.items() if value}


def _split(kind: str) -> tuple[str, str]:
    for prefix, entity in _ENTITY_OF.items():
        if kind.startswith(prefix):
            return entity, kind.removeprefix(prefix).lower()
    raise ValueError(kind)  # not reached: _AUDITED names only these


def _label(entity: str, data: dict[str, Any]) -> str:
    if entity == "partnership" or entity == "keystore":
        return f"{data.get('station_as2_id', '?')} → {data.get('partner_as2_id', '?')}"
    if entity == "certificate":
        alias = data.get("alias") or (data.get("certificate") or {}).get("alias")
        return f"{alias} ({data.get('kind', '')})".replace(" ()", "")
    return str(data.get("as2_id") or data.get("name") or data.get("id") or "?")


def describe_change(name: str, change: dict[str, Any]) -> str:
    """One readable line for a field's change."""
    if "from" not in change:
        return f"{name}: {change.get('to')}"  # a secret: set, replaced or removed
    if change["from"] is None:
        return f"{name}: {_shown(change.get('to'))}"
    return f"{name}: {_shown(change['from'])} → {_shown(change.get('to'))}"


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_shown(v)}" for k, v in value.items() if v not in (None, [], {}))
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and _PEM_CERTIFICATE in value:
        count = value.count(_PEM_CERTIFICATE)  # a partner's TLS certificates: not the PEM
        return f"{count} PEM certificate{'s' if count > 1 else ''}"
    return "—" if value is None else str(value)


_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"
