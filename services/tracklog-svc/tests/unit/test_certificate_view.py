"""The certificate view: days left, states, rotations, in any arrival order."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from as2bus.contracts import (
    CertDeleted,
    CertExpiring,
    CertExpiry,
    CertificateSummary,
    CertImported,
    CertRotated,
    CertRotation,
    Event,
)
from as2bus.tracklog.certs import CertificateView, changes, merge
from as2bus.tracklog.domain import utc

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def summary(fingerprint: str, *, activation: datetime, not_after: datetime) -> CertificateSummary:
    return CertificateSummary(
        id=uuid.uuid4(), alias="myco", kind="own", subject="CN=myco", issuer="CN=myco",
        serial="01", fingerprint_sha256=fingerprint, not_before=activation - timedelta(days=1),
        not_after=not_after, activation_at=activation, cert_pem="-----BEGIN CERTIFICATE-----",
    )  # fmt: skip


def view(events: list[Event]) -> dict[str, CertificateView]:
    rows: dict[uuid.UUID, CertificateView] = {}
    for event in events:
        for change in changes(event):
            rows[change.ref] = merge(rows.get(change.ref), change, utc(event.occurred_at))
    return {v.fingerprint_sha256: v for v in rows.values()}


def rotation_events() -> list[Event]:
    old = summary("AA", activation=NOW - timedelta(days=300), not_after=NOW + timedelta(days=10))
    new = summary("BB", activation=NOW + timedelta(days=2), not_after=NOW + timedelta(days=700))
    expiry = CertExpiry(certificate_id=old.id, alias="myco", kind="own", fingerprint_sha256="AA",
                        subject="CN=myco", not_after=old.not_after, days_left=14,
                        threshold_days=14)  # fmt: skip
    rotation = CertRotation(alias="myco", kind="own", change="new-certificate", certificate=new,
                            previous_fingerprints=["AA"],
                            previous_retire_at=NOW + timedelta(days=9))  # fmt: skip
    return [
        CertImported(source="generated", occurred_at=NOW - timedelta(days=300), data=old),
        CertExpiring(occurred_at=NOW - timedelta(days=4), data=expiry),
        CertRotated(occurred_at=NOW - timedelta(days=1), data=rotation),
    ]


def test_days_left_states_and_the_scheduled_rotation() -> None:
    rows = view(rotation_events())
    old, new = rows["AA"], rows["BB"]
    assert (old.days_left(NOW), old.state(NOW), old.warned_days) == (10, "retiring", 14)
    assert old.retirement_at == NOW + timedelta(days=9)
    assert (new.days_left(NOW), new.state(NOW)) == (700, "scheduled")
    assert new.state(NOW + timedelta(days=3)) == "active"
    assert old.state(NOW + timedelta(days=9, seconds=1)) == "retired"
    assert old.state(NOW + timedelta(days=11)) == "expired"


def test_a_rotation_seen_before_its_predecessor_still_retires_it() -> None:
    events = rotation_events()
    expected = view(events)
    for order in itertools.permutations(events):
        assert view(list(order)) == expected


def test_a_deleted_certificate_is_retired_from_its_deletion() -> None:
    orphan = summary("CC", activation=NOW - timedelta(days=1), not_after=NOW + timedelta(days=300))
    deleted = orphan.model_copy(update={"retirement_at": NOW})
    rows = view([CertImported(source="uploaded", occurred_at=NOW - timedelta(days=1), data=orphan),
                 CertDeleted(occurred_at=NOW, data=deleted)])  # fmt: skip
    assert rows["CC"].retirement_at == NOW
    assert rows["CC"].state(NOW) == "retired"
