"""Use cases of cert-svc: add certificates (generate, import, upload), rotate, reschedule,
serve key material, warn before expiry. Each write commits its event through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.cert import x509
from as2bus.cert.adapters.repository import CertRepository
from as2bus.cert.domain import Certificate, expiry_threshold_due
from as2bus.cert.schemas import CertificateView, GenerateOwn, Reschedule, UsedBy
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.contracts import (
    CertExpired,
    CertExpiring,
    CertExpiry,
    CertImported,
    CertRotated,
    CertRotation,
    KeyMaterialEntry,
    KeyMaterialReply,
)
from as2bus.shared.contracts.certs import CertKind, CertSource
from as2bus.shared.crypto import SecretBox
from as2bus.shared.errors import ConflictError, FieldError, InvalidFieldsError, NotFoundError

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class CertPolicy:
    expiry_thresholds_days: list[int]
    switchover: timedelta
    min_key_bits: int = 2048


def key_context(cert_id: uuid.UUID) -> str:
    return f"certificate:{cert_id}:key"  # the same as shared.bus.keys.key_context


def _certificate_error(err: x509.CertificateError) -> InvalidFieldsError:
    return InvalidFieldsError(FieldError(err.field, err.message))


class CertService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        config: ConfigReplica,
        policy: CertPolicy,
        clock: Clock,
        after_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self.box = box
        self.config = config
        self.policy = policy
        self.clock = clock
        self._after_commit = after_commit

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[CertRepository]:
        try:
            async with self._sessions() as session, session.begin():
                yield CertRepository(session)
        except sa.exc.IntegrityError:
            raise ConflictError(FieldError("file", "already stored")) from None
        self._after_commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[CertRepository]:
        async with self._sessions() as session:
            yield CertRepository(session)

    # --- views ----------------------------------------------------------------------------
    def used_by(self, cert: Certificate) -> UsedBy:
        if cert.kind == "own":
            stations = [
                s.as2_id for s in self.config.stations.values() if s.private_key_alias == cert.alias
            ]
            return UsedBy(stations=sorted(stations))
        partners = [p.as2_id for p in self.config.partners.values() if p.as2_alias == cert.alias]
        return UsedBy(partners=sorted(partners))

    def view(self, cert: Certificate, warnings: list[str] | None = None) -> CertificateView:
        now = self.clock()
        return CertificateView(
            **cert.summary().model_dump(),
            source=cert.source,
            state=cert.state(now),
            days_left=cert.days_left(now),
            key_bits=cert.key_bits,
            has_private_key=cert.key_sealed is not None,
            used_by=self.used_by(cert),
            warnings=warnings or [],
        )

    async def list_certificates(self, alias: str | None, kind: str | None) -> list[CertificateView]:
        async with self.read() as repo:
            return [self.view(c) for c in await repo.certificates(alias=alias, kind=kind)]

    async def get(self, cert_id: uuid.UUID) -> Certificate:
        async with self.read() as repo:
            cert = await repo.certificate(cert_id)
        if cert is None:
            raise NotFoundError("certificate", cert_id)
        return cert

    # --- adding certificates --------------------------------------------------------------
    async def generate_own(self, request: GenerateOwn) -> CertificateView:
        try:
            own = x509.generate_self_signed(
                request.common_name or request.alias,
                key_bits=request.key_bits,
                validity_days=request.validity_days,
                now=self.clock(),
                organization=request.organization,
            )
        except x509.CertificateError as err:
            raise _certificate_error(err) from None
        return await self.add(
            "own",
            request.alias,
            "generated",
            own.cert,
            own.key_pem,
            request.activation_at,
            request.retire_previous_at,
        )

    async def import_own(
        self,
        alias: str,
        data: bytes,
        password: str,
        key_alias: str | None,
        activation_at: datetime | None = None,
        retire_previous_at: datetime | None = None,
        allow_invalid_dates: bool = False,
    ) -> CertificateView:
        try:
            own = x509.load_own_pkcs12(
                data, password, key_alias, min_key_bits=self.policy.min_key_bits
            )
            warnings = x509.check_dates(
                own.cert, self.clock(), allow_invalid_dates=allow_invalid_dates
            )
        except x509.CertificateError as err:
            raise _certificate_error(err) from None
        return await self.add(
            "own",
            alias,
            "imported",
            own.cert,
            own.key_pem,
            activation_at,
            retire_previous_at,
            warnings,
        )

    async def upload_partner(
        self,
        alias: str,
        data: bytes,
        activation_at: datetime | None = None,
        retire_previous_at: datetime | None = None,
        allow_invalid_dates: bool = False,
    ) -> CertificateView:
        try:
            info = x509.load_partner_certificate(data, min_key_bits=self.policy.min_key_bits)
            warnings = x509.check_dates(info, self.clock(), allow_invalid_dates=allow_invalid_dates)
        except x509.CertificateError as err:
            raise _certificate_error(err) from None
        return await self.add(
            "partner", alias, "uploaded", info, None, activation_at, retire_previous_at, warnings
        )

    async def add(
        self,
        kind: CertKind,
        alias: str,
        source: CertSource,
        info: x509.CertInfo,
        key_pem: str | None,
        activation_at: datetime | None,
        retire_previous_at: datetime | None,
        warnings: list[str] | None = None,
    ) -> CertificateView:
        """Store a certificate; if the alias has others still in service, this is a rotation."""
        now = self.clock()
        activation = activation_at or now
        retire_at = retire_previous_at or activation + self.policy.switchover
        if retire_at < activation:
            raise InvalidFieldsError(
                FieldError("retire_previous_at", "must not be before activation_at")
            )
        cert_id = uuid.uuid4()
        cert = Certificate(
            id=cert_id,
            alias=alias,
            kind=kind,
            source=source,
            subject=info.subject,
            issuer=info.issuer,
            serial=info.serial,
            fingerprint_sha256=info.fingerprint_sha256,
            key_bits=info.key_bits,
            not_before=info.not_before,
            not_after=info.not_after,
            activation_at=activation,
            retirement_at=None,
            cert_pem=info.cert_pem,
            key_sealed=self.box.seal(key_pem.encode(), key_context(cert_id)) if key_pem else None,
            created_at=now,
        )
        async with self.unit() as repo:
            existing = await repo.certificates(alias=alias, kind=kind)
            if any(c.fingerprint_sha256 == info.fingerprint_sha256 for c in existing):
                raise ConflictError(
                    FieldError(
                        "file", f"this certificate is already stored under {kind} alias {alias!r}"
                    )
                )
            previous = [c for c in existing if c.state(now) != "retired"]
            await repo.add_certificate(cert)
            for old in previous:
                await repo.save_schedule(old.retired_by(retire_at))
            if previous:
                rotation = CertRotation(
                    alias=alias,
                    kind=kind,
                    change="new-certificate",
                    certificate=cert.summary(),
                    previous_fingerprints=[c.fingerprint_sha256 for c in previous],
                    previous_retire_at=retire_at,
                    notify_partners=self._partners_to_notify(cert),
                )
                await repo.add_to_outbox(CertRotated(data=rotation, correlation_id=alias))
            else:
                await repo.add_to_outbox(
                    CertImported(data=cert.summary(), source=source, correlation_id=alias)
                )
        return self.view(cert, warnings)

    def _partners_to_notify(self, cert: Certificate) -> list[str]:
        if cert.kind != "own":
            return []
        stations = {
            s.id for s in self.config.stations.values() if s.private_key_alias == cert.alias
        }
        return sorted(
            {
                p.partner_as2_id
                for p in self.config.partnerships.values()
                if p.station_id in stations
            }
        )

    async def reschedule(self, cert_id: uuid.UUID, request: Reschedule) -> CertificateView:
        async with self.unit() as repo:
            cert = await repo.certificate(cert_id)
            if cert is None:
                raise NotFoundError("certificate", cert_id)
            changes = request.model_dump(exclude_unset=True)
            if changes.get("activation_at", cert.activation_at) is None:
                raise InvalidFieldsError(FieldError("activation_at", "cannot be null"))
            new = Certificate(**{**cert.__dict__, **changes})
            if new.retirement_at is not None and new.retirement_at < new.activation_at:
                raise InvalidFieldsError(
                    FieldError("retirement_at", "must not be before activation_at")
                )
            await repo.save_schedule(new)
            rotation = CertRotation(
                alias=new.alias, kind=new.kind, change="schedule", certificate=new.summary()
            )
            await repo.add_to_outbox(CertRotated(data=rotation, correlation_id=new.alias))
        return self.view(new)

    # --- for inbound and outbound ---------------------------------------------------------
    async def key_material(self, aliases: list[str] | None) -> KeyMaterialReply:
        now = self.clock()
        async with self.read() as repo:
            certs = await repo.certificates()
        wanted = [
            c
            for c in certs
            if (aliases is None or c.alias in aliases) and c.state(now) != "retired"
        ]
        entries = [
            KeyMaterialEntry(**c.summary().model_dump(), sealed_key=c.key_sealed) for c in wanted
        ]
        return KeyMaterialReply(entries=entries, generated_at=now)

    # --- expiry ---------------------------------------------------------------------------
    async def check_expiry(self) -> list[CertExpiry]:
        """Announce each threshold a certificate reaches, once; returns what was announced."""
        now = self.clock()
        sent: list[CertExpiry] = []
        async with self.unit() as repo:
            for cert in await repo.certificates():
                if cert.state(now) == "retired":
                    continue
                notified = await repo.notified_thresholds(cert.id)
                days = cert.days_left(now)
                expired = cert.not_after <= now
                threshold = (
                    0
                    if expired
                    else expiry_threshold_due(days, self.policy.expiry_thresholds_days, notified)
                )
                if threshold is None or threshold in notified:
                    continue
                expiry = CertExpiry(
                    certificate_id=cert.id,
                    alias=cert.alias,
                    kind=cert.kind,
                    fingerprint_sha256=cert.fingerprint_sha256,
                    subject=cert.subject,
                    not_after=cert.not_after,
                    days_left=days,
                    threshold_days=threshold,
                )
                event_type = CertExpired if expired else CertExpiring
                await repo.add_to_outbox(event_type(data=expiry, correlation_id=cert.alias))
                await repo.record_notice(cert.id, threshold, now)
                sent.append(expiry)
        return sent
