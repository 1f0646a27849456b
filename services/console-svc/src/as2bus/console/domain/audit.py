"""The audit trail's entries, from configuration and certificate events: what was changed (the
kind of thing and its name), by whom, and how. No I/O: the bus consumer and the page use it
(how the changes read: audit_reading)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from as2bus.console.domain.audit_reading import Line, change_lines

#: Events that are changes somebody made (expiry warnings are the gateway's own observations).
_AUDITED = {
    "StationCreated", "StationUpdated", "StationDeleted",
    "PartnerCreated", "PartnerUpdated", "PartnerDeleted",
    "PartnershipCreated", "PartnershipUpdated", "PartnershipDeleted",
    "CertImported", "CertRotated", "CertDeleted", "KeystoreCreated",
    "NotificationChannelCreated", "NotificationChannelUpdated", "NotificationChannelDeleted",
    "NotificationRuleCreated", "NotificationRuleUpdated", "NotificationRuleDeleted",
}  # fmt: skip
#: As the audit trail stores them (at most 16 characters) → as the page and its filter say them.
ENTITIES = {
    "station": "station", "partner": "partner", "partnership": "partnership",
    "certificate": "certificate", "keystore": "keystore", "user": "user",
    "notify-channel": "notification channel", "notify-rule": "notification rule",
    "sign-in": "sign-in", "message": "message",
}  # fmt: skip
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
    #: created, updated, deleted; a certificate: generated, imported, uploaded (one under an
    #: alias that had none), rotated (a new one), rescheduled (its switch times), deleted; a
    #: keystore also exported; a sign-in: access_audit.SignInAction
    action: str
    entity: str  # one of ENTITIES
    label: str  # the thing's name as people know it: an AS2 ID, "MYCO → ACME", an alias
    changes: dict[str, Any]

    @property
    def what(self) -> str:
        """The kind of thing, in words: "notification channel"."""
        return ENTITIES.get(self.entity, self.entity)

    def lines(self, channels: Mapping[str, str] | None = None) -> list[Line]:
        """The changes as the page lists them; ``channels``: notification channel id → name."""
        return change_lines(self.entity, self.changes, channels)

    @property
    def names_channels(self) -> bool:
        """Whether its changes name notification channels (by id)."""
        return "channel_ids" in self.changes


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
        action=_action(action, event),
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
    # A rotation: the certificates it retires, and when (CertRotation).
    for name in ("change", "previous_fingerprints", "previous_retire_at"):
        facts[name] = data.get(name)
    return {name: {"from": None, "to": value} for name, value in facts.items() if value}


def _action(action: str, event: dict[str, Any]) -> str:
    """A certificate's first under its alias says how it came (generated, uploaded…); a
    rotation that only moved switch times says so."""
    data = event.get("data") or {}
    if action == "imported" and event.get("source"):
        return str(event["source"])
    if action == "rotated" and data.get("change") == "schedule":
        return "rescheduled"
    return action


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
