"""cert-svc's schema. Private keys are AES-GCM sealed (``key_sealed``); so are keystore
passwords, which are needed again at every export."""

from __future__ import annotations

import sqlalchemy as sa

from as2bus.shared.db import new_metadata
from as2bus.shared.outbox import outbox_table

metadata = new_metadata()

certificates = sa.Table(
    "certificates",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("alias", sa.String(128), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("issuer", sa.Text(), nullable=False),
    sa.Column("serial", sa.String(64), nullable=False),
    sa.Column("fingerprint_sha256", sa.String(95), nullable=False),
    sa.Column("key_bits", sa.Integer(), nullable=False),
    sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
    sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
    sa.Column("activation_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("retirement_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("cert_pem", sa.Text(), nullable=False),
    sa.Column("key_sealed", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("alias", "kind", "fingerprint_sha256", name="uq_certificates_alias_fp"),
)

keystores = sa.Table(
    "keystores",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("station_as2_id", sa.String(128), nullable=False),
    sa.Column("partner_as2_id", sa.String(128), nullable=False),
    sa.Column("private_key_alias", sa.String(128), nullable=False),
    sa.Column("partner_cert_alias", sa.String(128), nullable=False),
    sa.Column("password_sealed", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("station_as2_id", "partner_as2_id", name="uq_keystores_partnership"),
)

#: One row per (certificate, threshold) already announced, so each warning goes out once.
#: Threshold 0 stands for CertExpired.
expiry_notices = sa.Table(
    "expiry_notices",
    metadata,
    sa.Column("certificate_id", sa.Uuid(), sa.ForeignKey("certificates.id"), primary_key=True),
    sa.Column("threshold_days", sa.Integer(), primary_key=True),
    sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
)

outbox = outbox_table(metadata)
