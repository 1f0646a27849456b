"""Use cases of cert-svc: add certificates (generate, import, upload), rotate, reschedule,
serve key material, warn before expiry. Each write commits its event through the outbox."""

from __future__ import annotations

import shlex
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.cert import partner_files, x509
from as2bus.cert.adapters.repository import CertRepository
from as2bus.cert.domain import (
    Certificate,
    KeyUse,
    expiry_threshold_due,
    key_uses,
    switch_has_passed,
)
from as2bus.cert.own_aliases import StationAlias, key_deletion_refusal, unused_key_warning
from as2bus.cert.partner_aliases import PartnerAlias, deletion_refusal, unused_alias_warning
from as2bus.cert.schemas import CertificateView, GenerateOwn, Reschedule, UsedBy
from as2bus.contracts import (
    CertDeleted,
    CertExpired,
    CertExpiring,
    CertExpiry,
    CertImported,
    CertRotated,
    CertRotation,
    KeyMaterialEntry,
    KeyMaterialReply,
    PartnershipKey,
)
from as2bus.contracts.certs import CertKind, CertSource
from as2bus.shared.bus.replica import ConfigReplica
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
    return InvalidFieldsError(FieldError(err.field, err.message, err.code))


def _no_certificate(cert_id: uuid.UUID) -> str:
    return f"there is no certificate {cert_id}: take an ID from the certificate list"


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
        except sa.exc.IntegrityError:  # a unique constraint: another request stored it first
            raise ConflictError(
                FieldError(
                    "file",
                    "another request stored the same thing at the same moment; "
                    "look at what is stored now before trying again",
                    "already_stored",
                )
            ) from None
        self._after_commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[CertRepository]:
        async with self._sessions() as session:
            yield CertRepository(session)

    # --- views ----------------------------------------------------------------------------
    def used_by(self, cert: Certificate, uses: Sequence[KeyUse]) -> UsedBy:
        if cert.kind == "own":
            stations = [
                s.as2_id for s in self.config.stations.values() if s.private_key_alias == cert.alias
            ]
            partnerships = [u.name for u in uses if u.private_key_alias == cert.alias]
            return UsedBy(stations=sorted(stations), partnerships=partnerships)
        partners = [p.as2_id for p in self.config.partners.values() if p.as2_alias == cert.alias]
        return UsedBy(partners=sorted(partners))

    def view(
        self, cert: Certificate, warnings: list[str] | None = None, uses: Sequence[KeyUse] = ()
    ) -> CertificateView:
        now = self.clock()
        return CertificateView(
            **cert.summary().model_dump(),
            source=cert.source,
            state=cert.state(now),
            days_left=cert.days_left(now),
            key_bits=cert.key_bits,
            has_private_key=cert.key_sealed is not None,
            used_by=self.used_by(cert, uses),
            warnings=warnings or [],
        )

    async def list_certificates(self, alias: str | None, kind: str | None) -> list[CertificateView]:
        async with self.read() as repo:
            uses = await self.key_uses(repo)
            return [
                self.view(c, uses=uses) for c in await repo.certificates(alias=alias, kind=kind)
            ]

    async def get(self, cert_id: uuid.UUID) -> Certificate:
        async with self.read() as repo:
            cert = await repo.certificate(cert_id)
        if cert is None:
            raise NotFoundError("certificate", cert_id, _no_certificate(cert_id))
        return cert

    async def get_view(self, cert_id: uuid.UUID) -> CertificateView:
        cert = await self.get(cert_id)
        async with self.read() as repo:
            return self.view(cert, uses=await self.key_uses(repo))

    # --- adding certificates --------------------------------------------------------------
    def generate_key(
        self,
        common_name: str,
        key_bits: int,
        validity_days: int,
        organization: str | None = None,
    ) -> x509.OwnKey:
        try:
            return x509.generate_self_signed(
                common_name,
                key_bits=key_bits,
                validity_days=validity_days,
                now=self.clock(),
                organization=organization,
            )
        except x509.CertificateError as err:
            raise _certificate_error(err) from None

    def load_own(
        self,
        data: bytes,
        password: str,
        key_alias: str | None,
        allow_invalid_dates: bool,
        name: str,
    ) -> tuple[x509.OwnKey, list[str]]:
        """Our key and certificate from a PKCS#12 upload, and warnings about its dates."""
        try:
            own = x509.load_own_pkcs12(
                data, password, key_alias, min_key_bits=self.policy.min_key_bits, name=name
            )
            warnings = x509.check_dates(
                own.cert,
                self.clock(),
                allow_invalid_dates=allow_invalid_dates,
                name=name or "the certificate",
            )
        except x509.CertificateError as err:
            raise _certificate_error(err) from None
        if own.other_entries:  # OpenAS2's as2_certs.p12 holds the partners' certificates too
            file = shlex.quote(name) if name else "FILE.p12"
            warnings.append(
                f"{name or 'the file'}'s certificate entries {', '.join(own.other_entries)} were "
                "not imported (only our key is): upload each partner's with as2bus cert "
                f"upload-partner {file} --alias ALIAS --entry NAME --password ..."
            )
        return own, warnings

    async def generate_own(self, request: GenerateOwn) -> CertificateView:
        own = self.generate_key(
            request.common_name or request.alias,
            request.key_bits,
            request.validity_days,
            request.organization,
        )
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
        filename: str = "",
    ) -> CertificateView:
        own, warnings = self.load_own(data, password, key_alias, allow_invalid_dates, filename)
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
        filename: str = "",
        password: str | None = None,
        entry: str | None = None,
    ) -> CertificateView:
        info, warnings = self.partner_certificate(
            data, allow_invalid_dates, filename, password=password, entry=entry
        )
        if unused := unused_alias_warning(alias, self.partner_aliases()):
            warnings.append(unused)
        return await self.add(
            "partner", alias, "uploaded", info, None, activation_at, retire_previous_at, warnings
        )

    def partner_aliases(self) -> list[PartnerAlias]:
        return [PartnerAlias(p.as2_id, p.as2_alias) for p in self.config.partners.values()]

    def station_aliases(self) -> list[StationAlias]:
        return [StationAlias(s.as2_id, s.private_key_alias) for s in self.config.stations.values()]

    async def delete(self, cert_id: uuid.UUID) -> None:
        """Delete a certificate nothing uses: a partner's uploaded under a wrong alias, or a
        copy of our key under an alias no station or keystore names. To the other services it
        is retired from now on (CertDeleted)."""
        async with self.unit() as repo:
            cert = await repo.certificate(cert_id)
            if cert is None:
                raise NotFoundError("certificate", cert_id, _no_certificate(cert_id))
            rows = await repo.keystores()
            if cert.kind == "own":
                keys = [(f"{k['station_as2_id']}:{k['partner_as2_id']}", k["private_key_alias"])
                        for k in rows]  # fmt: skip
                refusal = key_deletion_refusal(cert.alias, self.station_aliases(), keys)
            else:
                theirs = [(f"{k['station_as2_id']}:{k['partner_as2_id']}", k["partner_cert_alias"])
                          for k in rows]  # fmt: skip
                refusal = deletion_refusal(cert, self.partner_aliases(), theirs)
            if refusal:
                raise ConflictError(FieldError("id", refusal, "certificate_in_use"))
            await repo.delete_certificate(cert_id)
            gone = replace(cert, retirement_at=self.clock()).summary()
            await repo.add_to_outbox(CertDeleted(data=gone, correlation_id=cert.alias))

    def partner_certificate(
        self,
        data: bytes,
        allow_invalid_dates: bool,
        filename: str = "",
        field: str = "file",
        password: str | None = None,
        entry: str | None = None,
        renamed: dict[str, str] | None = None,
    ) -> tuple[x509.CertInfo, list[str]]:
        """A partner's certificate (PEM or DER, a chain, PKCS#7, or an entry of a PKCS#12 file
        opened with ``password``) checked by our rules, and warnings about its dates and what
        the file held besides; InvalidFieldsError naming ``field`` when it is refused (and the
        caller's names of the password and entry fields: ``renamed``)."""
        name = filename or "the file"
        try:
            found = partner_files.load_partner_certificate(
                data,
                min_key_bits=self.policy.min_key_bits,
                name=name,
                password=password,
                entry=entry,
            )
            warnings = x509.check_dates(
                found.cert, self.clock(), allow_invalid_dates=allow_invalid_dates, name=name
            )
        except x509.CertificateError as err:
            field = field if err.field == "file" else (renamed or {}).get(err.field, err.field)
            raise InvalidFieldsError(FieldError(field, err.message, err.code)) from None
        return found.cert, found.notes + warnings

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
        cert = self.new_certificate(kind, alias, source, info, key_pem, activation_at)
        async with self.unit() as repo:
            await self.store(repo, cert, retire_previous_at)
            uses = await self.key_uses(repo)
        warnings = list(warnings or [])
        if kind == "own" and (unused := unused_key_warning(alias, self.station_aliases(), uses)):
            warnings.append(unused)
        return self.view(cert, warnings, uses)

    def new_certificate(
        self,
        kind: CertKind,
        alias: str,
        source: CertSource,
        info: x509.CertInfo,
        key_pem: str | None,
        activation_at: datetime | None,
    ) -> Certificate:
        now = self.clock()
        cert_id = uuid.uuid4()
        return Certificate(
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
            activation_at=activation_at or now,
            retirement_at=None,
            cert_pem=info.cert_pem,
            key_sealed=self.box.seal(key_pem.encode(), key_context(cert_id)) if key_pem else None,
            created_at=now,
        )

    async def store(
        self, repo: CertRepository, cert: Certificate, retire_previous_at: datetime | None
    ) -> None:
        """Add ``cert`` in ``repo``'s transaction; the alias's others in service then retire at
        ``retire_previous_at`` (default: activation + switchover): a rotation, which cannot
        switch in the past. An alias's first certificate may carry any activation."""
        now = self.clock()
        retire_at = retire_previous_at or cert.activation_at + self.policy.switchover
        if retire_at < cert.activation_at:
            raise InvalidFieldsError(
                FieldError(
                    "retire_previous_at",
                    "the previous certificates cannot retire before the new one activates: "
                    "give a retirement time after the activation time",
                    "retirement_before_activation",
                )
            )
        existing = await repo.certificates(alias=cert.alias, kind=cert.kind)
        if any(c.fingerprint_sha256 == cert.fingerprint_sha256 for c in existing):
            raise ConflictError(
                FieldError(
                    "file",
                    f"this certificate is already stored under {cert.kind} alias {cert.alias!r}; "
                    "nothing to do",
                    "certificate_already_stored",
                )
            )
        previous = [c for c in existing if c.state(now) != "retired"]
        if previous and switch_has_passed(cert.activation_at, now):
            raise InvalidFieldsError(
                FieldError(
                    "activation_at",
                    f"the switch time {cert.activation_at.isoformat()} has passed, and "
                    "a rotation cannot start in the past (the previous certificate would retire "
                    "early): give a time from now on, or none to switch now",
                    "activation_in_past",
                )
            )
        await repo.add_certificate(cert)
        for old in previous:
            await repo.save_schedule(old.retired_by(retire_at))
        if previous:
            rotation = CertRotation(
                alias=cert.alias,
                kind=cert.kind,
                change="new-certificate",
                certificate=cert.summary(),
                previous_fingerprints=[c.fingerprint_sha256 for c in previous],
                previous_retire_at=retire_at,
                notify_partners=await self._partners_to_notify(repo, cert),
            )
            await repo.add_to_outbox(CertRotated(data=rotation, correlation_id=cert.alias))
        else:
            await repo.add_to_outbox(
                CertImported(data=cert.summary(), source=cert.source, correlation_id=cert.alias)
            )

    async def key_uses(self, repo: CertRepository) -> list[KeyUse]:
        """Every partnership known (config, keystores) with the key alias it uses."""
        config = self.config
        partnerships = [
            (link.station_as2_id, link.partner_as2_id, station.private_key_alias)
            for link in config.partnerships.values()
            if (station := config.stations.get(link.station_id)) is not None
        ]
        keystores = [
            (k["station_as2_id"], k["partner_as2_id"], k["private_key_alias"])
            for k in await repo.keystores()
        ]
        return key_uses(partnerships, keystores)

    async def _partners_to_notify(self, repo: CertRepository, cert: Certificate) -> list[str]:
        if cert.kind != "own":
            return []
        uses = await self.key_uses(repo)
        return sorted({u.partner_as2_id for u in uses if u.private_key_alias == cert.alias})

    async def reschedule(self, cert_id: uuid.UUID, request: Reschedule) -> CertificateView:
        async with self.unit() as repo:
            cert = await repo.certificate(cert_id)
            if cert is None:
                raise NotFoundError("certificate", cert_id, _no_certificate(cert_id))
            changes = request.model_dump(exclude_unset=True)
            if changes.get("activation_at", cert.activation_at) is None:
                raise InvalidFieldsError(
                    FieldError(
                        "activation_at",
                        "a certificate needs an activation time: give one instead of null",
                        "activation_required",
                    )
                )
            new = Certificate(**{**cert.__dict__, **changes})
            if new.retirement_at is not None and new.retirement_at < new.activation_at:
                raise InvalidFieldsError(
                    FieldError(
                        "retirement_at",
                        "a certificate cannot retire before it activates: give a retirement "
                        "time after its activation time",
                        "retirement_before_activation",
                    )
                )
            await repo.save_schedule(new)
            rotation = CertRotation(
                alias=new.alias, kind=new.kind, change="schedule", certificate=new.summary()
            )
            await repo.add_to_outbox(CertRotated(data=rotation, correlation_id=new.alias))
            uses = await self.key_uses(repo)
        return self.view(new, uses=uses)

    # --- for inbound and outbound ---------------------------------------------------------
    async def key_material(self, aliases: list[str] | None) -> KeyMaterialReply:
        now = self.clock()
        async with self.read() as repo:
            certs = await repo.certificates()
            keystores = await repo.keystores()
        wanted = [
            c
            for c in certs
            if (aliases is None or c.alias in aliases) and c.state(now) != "retired"
        ]
        entries = [
            KeyMaterialEntry(**c.summary().model_dump(), sealed_key=c.key_sealed) for c in wanted
        ]
        partnership_keys = [
            PartnershipKey(**{k: row[k] for k in PartnershipKey.model_fields}) for row in keystores
        ]
        return KeyMaterialReply(
            entries=entries, generated_at=now, partnership_keys=partnership_keys
        )

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
