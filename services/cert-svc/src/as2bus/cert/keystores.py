"""Keystores: one per partnership, our key for it and the partner's certificate, with the
password its exports use.

A keystore names the alias of our key its partnership signs and decrypts with, and the alias
of the partner's certificate. A new keystore gets a key of its own (alias STATION@PARTNER by
default), so creating or importing one never changes the key another partnership uses; a
partnership without a keystore uses its station's key alias (`domain.key_uses` here,
`shared.keyring.KeyRing.own_alias` in inbound and outbound). Changing the key of a partnership
is a rotation (`rotate`) with the usual overlap window: when its key alias is shared with other
partnerships, the rotation moves it to an alias of its own and leaves the others theirs.
"""

from __future__ import annotations

import base64
import binascii
import shlex
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from as2bus.cert import x509
from as2bus.cert.adapters.repository import CertRepository
from as2bus.cert.domain import Certificate, partnership_alias
from as2bus.cert.schemas import PASSWORD_RULE, KeystoreCreate, KeystoreRotate, KeystoreView
from as2bus.cert.service import CertService, key_context
from as2bus.contracts import KeystoreCreated, PartnershipKey, PartnerState, StationState
from as2bus.contracts.certs import CertSource
from as2bus.shared.errors import ConflictError, FieldError, InvalidFieldsError, NotFoundError

MIN_PASSWORD = 8
#: Which public certificate to export: the one in use, or the next one (after a rotation).
Which = Literal["current", "next"]


def _password_context(keystore_id: uuid.UUID) -> str:
    return f"keystore:{keystore_id}:password"


def _name(row: dict[str, Any]) -> str:
    return f"{row['station_as2_id']}:{row['partner_as2_id']}"


class Keystores:
    def __init__(self, certs: CertService) -> None:
        self.certs = certs

    # --- creating ---------------------------------------------------------------------------
    async def _partnership(self, station: str, partner: str) -> tuple[StationState, PartnerState]:
        """The station and partner of an existing partnership, from the config replica. A
        miss waits for the replica to apply what config-svc stored before it: an automation
        creates the partnership and its keystore one call after the other."""
        config = self.certs.config
        if config.find_partnership(station, partner) is None:
            await config.catch_up()
        found_station = next((s for s in config.stations.values() if s.as2_id == station), None)
        found_partner = next((p for p in config.partners.values() if p.as2_id == partner), None)
        errors = []
        if found_station is None:
            errors.append(
                FieldError(
                    "station",
                    f"there is no station {station!r}: check its AS2 ID (as2bus station list)",
                    "station_not_found",
                )
            )
        if found_partner is None:
            errors.append(
                FieldError(
                    "partner",
                    f"there is no partner {partner!r}: check its AS2 ID (as2bus partner list)",
                    "partner_not_found",
                )
            )
        if errors or found_station is None or found_partner is None:
            raise InvalidFieldsError(*errors)
        if config.find_partnership(station, partner) is None:
            raise InvalidFieldsError(
                FieldError(
                    "partner",
                    f"station {station} and partner {partner} have no partnership, and a "
                    "keystore belongs to a partnership: create it first (as2bus partnership "
                    f"create --station {station} --partner {partner})",
                    "partnership_not_found",
                )
            )
        return found_station, found_partner

    async def create(self, request: KeystoreCreate) -> KeystoreView:
        station, partner = await self._partnership(request.station, request.partner)
        theirs = self._partner_certificate(
            _pem_or_der(request.partner_certificate),
            "partner_certificate",
            request.partner_certificate_password,
            request.partner_certificate_entry,
        )
        own = None
        if request.own_key == "existing":
            alias = request.private_key_alias or station.private_key_alias
        else:
            alias = request.private_key_alias or partnership_alias(
                station.private_key_alias, partner.as2_alias
            )
            own = self.certs.generate_key(
                station.as2_id[:64], request.key_bits, request.validity_days
            )
        async with self._unit(station, partner) as repo:
            await self._refuse_a_second(repo, station, partner)
            if own is None:
                await self._require_key(repo, alias)
            else:
                await self._refuse_key_change(repo, station, partner, alias)
                cert = self.certs.new_certificate(
                    "own", alias, "generated", own.cert, own.key_pem, None
                )
                await self.certs.store(repo, cert, None)
            partner_alias = request.partner_cert_alias or partner.as2_alias
            await self._keep_partner_certificate(repo, partner_alias, theirs)
            keystore_id = await self._record(
                repo,
                station,
                partner,
                alias,
                partner_alias,
                request.password.get_secret_value(),
            )
        return await self._with_warnings(keystore_id, theirs[1] if theirs else [])

    async def import_(
        self,
        station_id: str,
        partner_id: str,
        data: bytes,
        password: str,
        key_alias: str | None,
        private_key_alias: str | None,
        partner_cert_alias: str | None,
        allow_invalid_dates: bool,
        filename: str = "",
        partner_certificate: tuple[bytes, str] | None = None,
        export_password: str | None = None,
        partner_password: str | None = None,
        partner_entry: str | None = None,
    ) -> KeystoreView:
        """Our existing PKCS#12 becomes the partnership's key. ``password`` opens the file and,
        unless ``export_password`` is given, protects the keystore's exports. With
        ``partner_certificate`` (its bytes and file name), the partner's certificate is stored
        in the same transaction (from a PKCS#12 file: ``partner_password`` opens it,
        ``partner_entry`` names the partner's entry). A key already stored (the same
        certificate, under the alias asked for, or any when none is) is shared, not stored
        twice."""
        station, partner = await self._partnership(station_id, partner_id)
        theirs = self._partner_certificate(
            partner_certificate, "partner_file", partner_password, partner_entry
        )
        _check_export_password(password, export_password)
        own, warnings = self.certs.load_own(
            data, password, key_alias, allow_invalid_dates, filename
        )
        fingerprint = own.cert.fingerprint_sha256
        async with self._unit(station, partner) as repo:
            await self._refuse_a_second(repo, station, partner)
            alias = (
                private_key_alias
                or await self._alias_holding(repo, fingerprint, station.private_key_alias)
                or partnership_alias(station.private_key_alias, partner.as2_alias)
            )
            await self._refuse_key_change(repo, station, partner, alias, fingerprint)
            if any(
                c.fingerprint_sha256 == fingerprint for c in await self._not_retired(repo, alias)
            ):
                warnings.append(
                    f"this key is already stored under the alias {alias!r}, so the keystore "
                    "shares it rather than storing a copy"
                )
            else:
                cert = self.certs.new_certificate(
                    "own", alias, "imported", own.cert, own.key_pem, None
                )
                await self.certs.store(repo, cert, None)
            partner_alias = partner_cert_alias or partner.as2_alias
            await self._keep_partner_certificate(repo, partner_alias, theirs)
            keystore_id = await self._record(
                repo, station, partner, alias, partner_alias, export_password or password
            )
        return await self._with_warnings(keystore_id, warnings + (theirs[1] if theirs else []))

    async def _alias_holding(
        self, repo: CertRepository, fingerprint: str, preferred: str
    ) -> str | None:
        """The alias under which our key with this certificate is in service (``preferred``
        first, the station's), so that importing it again shares it."""
        now = self.certs.clock()
        aliases = {
            c.alias
            for c in await repo.certificates(kind="own")
            if c.fingerprint_sha256 == fingerprint and c.state(now) != "retired"
        }
        return preferred if preferred in aliases else min(aliases, default=None)

    def _partner_certificate(
        self,
        given: tuple[bytes, str] | None,
        field: str,
        password: str | None = None,
        entry: str | None = None,
    ) -> tuple[x509.CertInfo, list[str]] | None:
        """The partner's certificate checked before anything is stored (None: none given);
        from a PKCS#12 file, ``password`` and ``entry`` (refusals name ``field``_password and
        ``field``_entry, not the keystore's own password)."""
        if given is None:
            return None
        data, filename = given
        renamed = {"password": f"{field}_password", "entry": f"{field}_entry"}
        return self.certs.partner_certificate(
            data, False, filename, field=field, password=password, entry=entry, renamed=renamed
        )

    async def _keep_partner_certificate(
        self,
        repo: CertRepository,
        alias: str,
        theirs: tuple[x509.CertInfo, list[str]] | None,
    ) -> None:
        """Store the partner's certificate with the keystore (same transaction: a refusal of
        either stores neither). One already in service under the alias is kept as it is."""
        if theirs is None:
            return
        info = theirs[0]
        now = self.certs.clock()
        stored = await repo.certificates(alias=alias, kind="partner")
        if any(c.fingerprint_sha256 == info.fingerprint_sha256 and c.state(now) != "retired"
               for c in stored):  # fmt: skip
            return
        cert = self.certs.new_certificate("partner", alias, "uploaded", info, None, None)
        await self.certs.store(repo, cert, None)

    async def _with_warnings(self, keystore_id: uuid.UUID, warnings: list[str]) -> KeystoreView:
        view = await self.get(keystore_id)
        return view.model_copy(update={"warnings": warnings}) if warnings else view

    @asynccontextmanager
    async def _unit(
        self, station: StationState, partner: PartnerState
    ) -> AsyncIterator[CertRepository]:
        """A write transaction where a keystore row another request added first is reported
        as such (the partnership's unique constraint)."""
        try:
            async with self.certs.unit() as repo:
                yield repo
        except ConflictError as err:
            if err.errors[0].code != "already_stored":
                raise
            raise _keystore_exists(station.as2_id, partner.as2_id) from None

    async def _refuse_a_second(
        self, repo: CertRepository, station: StationState, partner: PartnerState
    ) -> None:
        if await repo.keystore_for(station.as2_id, partner.as2_id) is not None:
            raise _keystore_exists(station.as2_id, partner.as2_id)

    async def _refuse_key_change(
        self,
        repo: CertRepository,
        station: StationState,
        partner: PartnerState,
        alias: str,
        same_key: str | None = None,
    ) -> None:
        """A new key for the partnership must change nothing in use: neither the key the
        partnership uses now (its station's, having no keystore) nor another's key. The key
        whose certificate has the fingerprint ``same_key`` (an import) changes neither."""
        name = f"{station.as2_id}:{partner.as2_id}"
        create = (
            f"as2bus keystore create --station {shlex.quote(station.as2_id)} --partner "
            f"{shlex.quote(partner.as2_id)} --own-key existing"
        )
        current = station.private_key_alias
        in_use = await self._not_retired(repo, current)
        if alias != current and in_use and all(c.fingerprint_sha256 != same_key for c in in_use):
            raise ConflictError(
                FieldError(
                    "own_key",
                    f"partnership {name} already signs and decrypts with the station's key "
                    f"{current!r}: keep it ({create}; API: own_key=existing), then give the "
                    "partnership a new key of its own with a rotation (as2bus keystore rotate "
                    f"{shlex.quote(name)})",
                    "partnership_key_in_use",
                )
            )
        held = await self._not_retired(repo, alias)
        if held and all(c.fingerprint_sha256 != same_key for c in held):
            users = [
                u.name for u in await self.certs.key_uses(repo) if u.private_key_alias == alias
            ]
            used = f", used by {', '.join(users)}" if users else ""
            raise ConflictError(
                FieldError(
                    "private_key_alias",
                    f"the key alias {alias!r} already holds another key{used}: share that key "
                    f"({create} --private-key-alias {shlex.quote(alias)}), or choose another "
                    "alias",
                    "key_alias_in_use",
                )
            )

    async def _not_retired(self, repo: CertRepository, alias: str) -> list[Certificate]:
        now = self.certs.clock()
        own = await repo.certificates(alias=alias, kind="own")
        return [c for c in own if c.state(now) != "retired"]

    async def _require_key(self, repo: CertRepository, alias: str) -> None:
        now = self.certs.clock()
        own = await repo.certificates(alias=alias, kind="own")
        if not [c for c in own if c.state(now) in ("active", "expired")]:
            raise InvalidFieldsError(
                FieldError(
                    "own_key",
                    f"there is no key in service under the alias {alias!r} to use: let the "
                    "keystore generate a new key (own_key=generate, the default) or import "
                    "ours (as2bus keystore import)",
                    "key_not_found",
                )
            )

    async def _record(
        self,
        repo: CertRepository,
        station: StationState,
        partner: PartnerState,
        own_alias: str,
        partner_alias: str,
        password: str,
    ) -> uuid.UUID:
        keystore_id = uuid.uuid4()
        key = PartnershipKey(
            station_as2_id=station.as2_id,
            partner_as2_id=partner.as2_id,
            private_key_alias=own_alias,
            partner_cert_alias=partner_alias,
        )
        await repo.add_keystore(
            {
                "id": keystore_id,
                **key.model_dump(),
                "password_sealed": self.certs.box.seal(
                    password.encode(), _password_context(keystore_id)
                ),
                "created_at": self.certs.clock(),
            }
        )
        # inbound and outbound drop their cached key material on any cert event
        await repo.add_to_outbox(KeystoreCreated(data=key, correlation_id=own_alias))
        return keystore_id

    # --- rotating ---------------------------------------------------------------------------
    async def rotate(self, keystore_id: uuid.UUID, request: KeystoreRotate) -> KeystoreView:
        row = await self._row(keystore_id)
        own = self.certs.generate_key(
            row["station_as2_id"][:64], request.key_bits, request.validity_days
        )
        return await self._rotate(
            row, own, "generated", request.activation_at, request.retire_previous_at, []
        )

    async def rotate_import(
        self,
        keystore_id: uuid.UUID,
        data: bytes,
        password: str,
        key_alias: str | None,
        activation_at: datetime | None,
        retire_previous_at: datetime | None,
        allow_invalid_dates: bool,
        filename: str = "",
    ) -> KeystoreView:
        row = await self._row(keystore_id)
        own, warnings = self.certs.load_own(
            data, password, key_alias, allow_invalid_dates, filename
        )
        return await self._rotate(row, own, "imported", activation_at, retire_previous_at, warnings)

    async def _rotate(
        self,
        row: dict[str, Any],
        own: x509.OwnKey,
        source: CertSource,
        activation_at: datetime | None,
        retire_previous_at: datetime | None,
        warnings: list[str],
    ) -> KeystoreView:
        async with self.certs.unit() as repo:
            alias = row["private_key_alias"]
            users = [u for u in await self.certs.key_uses(repo) if u.private_key_alias == alias]
            if any(u.name != _name(row) for u in users):
                alias = await self._move_to_own_alias(repo, row)
            cert = self.certs.new_certificate(
                "own", alias, source, own.cert, own.key_pem, activation_at
            )
            await self.certs.store(repo, cert, retire_previous_at)
        view = await self.get(row["id"])
        return view.model_copy(update={"warnings": warnings})

    async def _move_to_own_alias(self, repo: CertRepository, row: dict[str, Any]) -> str:
        """Give the keystore an alias of its own holding copies of its shared key, so that the
        rotation that follows retires them for this partnership only (the others keep theirs)."""
        alias = partnership_alias(row["private_key_alias"], row["partner_cert_alias"])
        if await repo.certificates(alias=alias, kind="own"):
            raise ConflictError(
                FieldError(
                    "id",
                    f"the key of {_name(row)} is shared with other partnerships, and the alias "
                    f"{alias!r} it would move to already holds another key: rotate the shared "
                    f"key for all of them instead (as2bus cert rotate --alias "
                    f"{row['private_key_alias']} --generate)",
                    "key_alias_in_use",
                )
            )
        box, now = self.certs.box, self.certs.clock()
        for shared in await self._not_retired(repo, row["private_key_alias"]):
            copy_id = uuid.uuid4()
            key = box.open(shared.key_sealed, key_context(shared.id)) if shared.key_sealed else None
            await repo.add_certificate(
                replace(
                    shared,
                    id=copy_id,
                    alias=alias,
                    key_sealed=box.seal(key, key_context(copy_id)) if key else None,
                    created_at=now,
                )
            )
        await repo.set_keystore_alias(row["id"], alias)
        return alias

    # --- reading and exporting --------------------------------------------------------------
    async def _row(self, keystore_id: uuid.UUID) -> dict[str, Any]:
        async with self.certs.read() as repo:
            row = await repo.keystore(keystore_id)
        if row is None:
            raise NotFoundError(
                "keystore",
                keystore_id,
                f"there is no keystore {keystore_id}: take an ID or STATION:PARTNER from the "
                "keystore list (as2bus keystore list)",
            )
        return row

    async def _views(self, rows: list[dict[str, Any]]) -> list[KeystoreView]:
        async with self.certs.read() as repo:
            uses = await self.certs.key_uses(repo)
            views = []
            for row in rows:
                own = await repo.certificates(alias=row["private_key_alias"], kind="own")
                partner = await repo.certificates(alias=row["partner_cert_alias"], kind="partner")
                fields = {k: v for k, v in row.items() if k != "password_sealed"}
                views.append(
                    KeystoreView(
                        **fields,
                        own_certificates=[self.certs.view(c, uses=uses) for c in own],
                        partner_certificates=[self.certs.view(c, uses=uses) for c in partner],
                    )
                )
        return views

    async def get(self, keystore_id: uuid.UUID) -> KeystoreView:
        return (await self._views([await self._row(keystore_id)]))[0]

    async def all(self) -> list[KeystoreView]:
        async with self.certs.read() as repo:
            rows = await repo.keystores()
        return await self._views(rows)

    async def _in_service(self, alias: str, kind: str) -> list[Certificate]:
        now = self.certs.clock()
        async with self.certs.read() as repo:
            certs = await repo.certificates(alias=alias, kind=kind)
        return [c for c in certs if c.state(now) in ("active", "expired")]

    async def _signing(self, row: dict[str, Any]) -> Certificate:
        in_service = await self._in_service(row["private_key_alias"], "own")
        if not in_service:
            raise ConflictError(
                FieldError(
                    "id",
                    f"{_name(row)} has no key in service under {row['private_key_alias']!r} "
                    f"(retired, or not active yet): give it a new one (as2bus keystore rotate "
                    f"{_name(row)})",
                    "no_key_in_service",
                )
            )
        return max(in_service, key=lambda c: c.activation_at)

    async def _partner_certs(self, row: dict[str, Any]) -> list[tuple[str, str]]:
        certs = await self._in_service(row["partner_cert_alias"], "partner")
        return [(row["partner_cert_alias"], c.cert_pem) for c in certs]

    def _password(self, row: dict[str, Any]) -> str:
        return self.certs.box.open(row["password_sealed"], _password_context(row["id"])).decode()

    async def export_keystore(self, keystore_id: uuid.UUID) -> bytes:
        """Our current key and certificate plus the partner's certificates in service."""
        row = await self._row(keystore_id)
        own = await self._signing(row)
        assert own.key_sealed is not None
        key_pem = self.certs.box.open(own.key_sealed, key_context(own.id)).decode()
        return x509.export_keystore_p12(
            (key_pem, own.cert_pem),
            row["private_key_alias"],
            await self._partner_certs(row),
            self._password(row),
        )

    async def export_partner(self, keystore_id: uuid.UUID) -> bytes:
        row = await self._row(keystore_id)
        partner_certs = await self._partner_certs(row)
        if not partner_certs:
            raise ConflictError(
                FieldError(
                    "id",
                    f"{_name(row)} has no partner certificate in service yet: upload the "
                    "partner's certificate first (as2bus cert upload-partner FILE --alias "
                    f"{row['partner_cert_alias']})",
                    "partner_certificate_missing",
                )
            )
        return x509.export_partner_p12(partner_certs, self._password(row))

    async def public_certificate(self, keystore_id: uuid.UUID, which: Which = "current") -> str:
        """Our public certificate: the one we sign with now, or (``next``) the one a rotation
        put in, still waiting for its activation, which the partner needs before then."""
        row = await self._row(keystore_id)
        cert = await (self._signing(row) if which == "current" else self._next(row))
        return cert.cert_pem

    async def _next(self, row: dict[str, Any]) -> Certificate:
        """The newest certificate waiting to take over; one that retires before it would
        activate (superseded by a later rotation) never takes over."""
        now = self.certs.clock()
        async with self.certs.read() as repo:
            own = await repo.certificates(alias=row["private_key_alias"], kind="own")
        waiting = [
            c
            for c in own
            if c.state(now) == "pending"
            and (c.retirement_at is None or c.retirement_at > c.activation_at)
        ]
        if not waiting:
            raise ConflictError(
                FieldError(
                    "which",
                    f"{_name(row)} has no new certificate waiting to take over: the one in use "
                    f"is the one to send (as2bus cert export --keystore {_name(row)} --what "
                    "public)",
                    "no_pending_certificate",
                )
            )
        return max(waiting, key=lambda c: c.activation_at)


def _check_export_password(password: str, export_password: str | None) -> None:
    """The password protecting exports: the file's, unless another is given; 8+ characters."""
    if export_password is not None and not MIN_PASSWORD <= len(export_password) <= 256:
        raise InvalidFieldsError(FieldError("export_password", PASSWORD_RULE, "invalid_password"))
    if export_password is None and len(password) < MIN_PASSWORD:
        raise InvalidFieldsError(
            FieldError(
                "password",
                "the PKCS#12 password also protects this keystore's exports unless another is "
                f"given, and an export password must be at least {MIN_PASSWORD} characters "
                "long: give one (as2bus: --export-password; the file's password then only "
                "opens it)",
                "password_too_short",
            )
        )


def _keystore_exists(station: str, partner: str) -> ConflictError:
    name = f"{station}:{partner}"
    return ConflictError(
        FieldError(
            "partner",
            f"partnership {name} already has a keystore, and a second one would replace the key "
            f"it uses: to give it a new key, rotate it (as2bus keystore rotate {name})",
            "keystore_exists",
        )
    )


def _pem_or_der(text: str | None) -> tuple[bytes, str] | None:
    """A certificate given in JSON: PEM text as it is, DER as base64."""
    if text is None:
        return None
    if "-----BEGIN" in text:
        return text.encode(), "partner_certificate"
    try:
        return base64.b64decode(text, validate=True), "partner_certificate"
    except (binascii.Error, ValueError):
        return text.encode(), "partner_certificate"  # refused as not a certificate, by x509
