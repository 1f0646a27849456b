"""Keystores: a partnership's view of its certificates, with the password its exports use.

A keystore names our private-key alias (default: the station's) and the partner-certificate
alias (default: the partner's). Certificates live per alias, so a station's key serves all its
partnerships and rotates once for all of them.
"""

from __future__ import annotations

import uuid
from typing import Any

from as2bus.cert import x509
from as2bus.cert.domain import Certificate
from as2bus.cert.schemas import GenerateOwn, KeystoreCreate, KeystoreView
from as2bus.cert.service import CertService, key_context
from as2bus.shared.errors import ConflictError, FieldError, InvalidFieldsError, NotFoundError


def _password_context(keystore_id: uuid.UUID) -> str:
    return f"keystore:{keystore_id}:password"


class Keystores:
    def __init__(self, certs: CertService) -> None:
        self.certs = certs

    def _resolve(self, station: str, partner: str) -> tuple[str, str]:
        config = self.certs.config
        found_station = next((s for s in config.stations.values() if s.as2_id == station), None)
        found_partner = next((p for p in config.partners.values() if p.as2_id == partner), None)
        errors = []
        if found_station is None:
            errors.append(FieldError("station", f"no station {station!r} in config-svc"))
        if found_partner is None:
            errors.append(FieldError("partner", f"no partner {partner!r} in config-svc"))
        if errors or found_station is None or found_partner is None:
            raise InvalidFieldsError(*errors)
        return found_station.private_key_alias, found_partner.as2_alias

    async def create(self, request: KeystoreCreate) -> KeystoreView:
        own_alias, partner_alias = self._resolve(request.station, request.partner)
        own_alias = request.private_key_alias or own_alias
        if request.own_key == "generate":
            await self.certs.generate_own(
                GenerateOwn(
                    alias=own_alias, key_bits=request.key_bits, validity_days=request.validity_days
                )
            )
        elif not await self._in_service(own_alias, "own"):
            raise InvalidFieldsError(
                FieldError(
                    "own_key",
                    f"no key in service under alias {own_alias!r}; use 'generate' or import one",
                )
            )
        return await self._record(
            request.station,
            request.partner,
            own_alias,
            request.partner_cert_alias or partner_alias,
            request.password.get_secret_value(),
        )

    async def import_(
        self,
        station: str,
        partner: str,
        data: bytes,
        password: str,
        key_alias: str | None,
        private_key_alias: str | None,
        partner_cert_alias: str | None,
        allow_invalid_dates: bool,
    ) -> KeystoreView:
        """Our existing PKCS#12 becomes the keystore's key; its password protects the keystore."""
        own_alias, partner_alias = self._resolve(station, partner)
        if len(password) < 8:
            raise InvalidFieldsError(FieldError("password", "at least 8 characters"))
        own_alias = private_key_alias or own_alias
        await self.certs.import_own(
            own_alias, data, password, key_alias, allow_invalid_dates=allow_invalid_dates
        )
        return await self._record(
            station, partner, own_alias, partner_cert_alias or partner_alias, password
        )

    async def _record(
        self, station: str, partner: str, own_alias: str, partner_alias: str, password: str
    ) -> KeystoreView:
        keystore_id = uuid.uuid4()
        values = {
            "id": keystore_id,
            "station_as2_id": station,
            "partner_as2_id": partner,
            "private_key_alias": own_alias,
            "partner_cert_alias": partner_alias,
            "password_sealed": self.certs.box.seal(
                password.encode(), _password_context(keystore_id)
            ),
            "created_at": self.certs.clock(),
        }
        try:
            async with self.certs.unit() as repo:
                await repo.add_keystore(values)
        except ConflictError:
            raise ConflictError(
                FieldError("partner", f"{station} and {partner} already have a keystore")
            ) from None
        return await self.get(keystore_id)

    async def _in_service(self, alias: str, kind: str) -> list[Certificate]:
        now = self.certs.clock()
        async with self.certs.read() as repo:
            certs = await repo.certificates(alias=alias, kind=kind)
        return [c for c in certs if c.state(now) in ("active", "expired")]

    async def _row(self, keystore_id: uuid.UUID) -> dict[str, Any]:
        async with self.certs.read() as repo:
            row = await repo.keystore(keystore_id)
        if row is None:
            raise NotFoundError("keystore", keystore_id)
        return row

    async def _view(self, row: dict[str, Any]) -> KeystoreView:
        async with self.certs.read() as repo:
            own = await repo.certificates(alias=row["private_key_alias"], kind="own")
            partner = await repo.certificates(alias=row["partner_cert_alias"], kind="partner")
        fields = {k: v for k, v in row.items() if k != "password_sealed"}
        return KeystoreView(
            **fields,
            own_certificates=[self.certs.view(c) for c in own],
            partner_certificates=[self.certs.view(c) for c in partner],
        )

    async def get(self, keystore_id: uuid.UUID) -> KeystoreView:
        return await self._view(await self._row(keystore_id))

    async def all(self) -> list[KeystoreView]:
        async with self.certs.read() as repo:
            rows = await repo.keystores()
        return [await self._view(r) for r in rows]

    async def _signing(self, row: dict[str, Any]) -> Certificate:
        in_service = await self._in_service(row["private_key_alias"], "own")
        if not in_service:
            raise ConflictError(
                FieldError(
                    "id", f"no own certificate in service under {row['private_key_alias']!r}"
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
                FieldError("id", f"no partner certificate under {row['partner_cert_alias']!r} yet")
            )
        return x509.export_partner_p12(partner_certs, self._password(row))

    async def public_certificate(self, keystore_id: uuid.UUID) -> str:
        return (await self._signing(await self._row(keystore_id))).cert_pem
