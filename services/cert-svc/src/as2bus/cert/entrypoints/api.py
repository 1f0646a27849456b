"""cert-svc's admin REST API: thin translators between HTTP and the use cases."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, File, Form, Query, Request, UploadFile, status
from fastapi.responses import PlainTextResponse, Response

from as2bus.cert.keystores import Keystores, Which
from as2bus.cert.schemas import (
    CertificateView,
    GenerateOwn,
    KeystoreCreate,
    KeystoreRotate,
    KeystoreView,
    Reschedule,
)
from as2bus.cert.service import CertService
from as2bus.cert.wiring import wiring
from as2bus.cert.x509 import MAX_UPLOAD_BYTES
from as2bus.shared.audit import current_actor
from as2bus.shared.errors import FieldError, InvalidFieldsError
from as2bus.shared.web import Scope, scoped_routers


def certs(request: Request) -> CertService:
    return wiring.get(request).certs


def keystores(request: Request) -> Keystores:
    return wiring.get(request).keystores


Certs = Annotated[CertService, Depends(certs)]
Stores = Annotated[Keystores, Depends(keystores)]
Upload = Annotated[UploadFile, File(description="At most 1 MiB")]
When = Annotated[datetime | None, Form()]
P12 = "application/x-pkcs12"
PEM = "application/x-pem-file"

routers = scoped_routers("/api/v1")
read = routers[Scope.READ]  # routes any token may call
admin = routers[Scope.ADMIN]  # configuration, key material, private-key exports


async def read_upload(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidFieldsError(
            FieldError(
                "file",
                f"{upload.filename or 'the file'} is larger than {MAX_UPLOAD_BYTES} bytes: a "
                "certificate or PKCS#12 file is a few KB, so this is probably not the right file",
                "file_too_large",
            )
        )
    return data


def attachment(body: bytes | str, media_type: str, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


@read.get("/certificates", tags=["certificates"])
async def list_certificates(
    service: Certs,
    alias: Annotated[str | None, Query()] = None,
    kind: Annotated[Literal["own", "partner"] | None, Query()] = None,
) -> list[CertificateView]:
    return await service.list_certificates(alias, kind)


@read.get("/certificates/{cert_id}", tags=["certificates"])
async def get_certificate(cert_id: uuid.UUID, service: Certs) -> CertificateView:
    return await service.get_view(cert_id)


@read.get(
    "/certificates/{cert_id}/certificate.pem",
    tags=["certificates"],
    response_class=PlainTextResponse,
)
async def certificate_pem(cert_id: uuid.UUID, service: Certs) -> Response:
    cert = await service.get(cert_id)
    return attachment(cert.cert_pem, PEM, f"{cert.alias}.cer")


@admin.patch("/certificates/{cert_id}", tags=["certificates"])
async def reschedule(cert_id: uuid.UUID, body: Reschedule, service: Certs) -> CertificateView:
    return await service.reschedule(cert_id, body)


@admin.delete(
    "/certificates/{cert_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["certificates"]
)
async def delete_certificate(cert_id: uuid.UUID, service: Certs) -> None:
    """Delete a partner certificate no partner or keystore uses (uploaded under a wrong
    alias): refused for one in use (rotate it instead) and for our own."""
    await service.delete(cert_id)


@admin.post("/certificates/own", status_code=status.HTTP_201_CREATED, tags=["certificates"])
async def generate_own(body: GenerateOwn, service: Certs) -> CertificateView:
    """Generate a key and self-signed certificate; on an alias in use, this is a rotation."""
    return await service.generate_own(body)


@admin.post("/certificates/own/import", status_code=status.HTTP_201_CREATED, tags=["certificates"])
async def import_own(
    service: Certs,
    file: Upload,
    alias: Annotated[str, Form()],
    password: Annotated[str, Form()],
    key_alias: Annotated[str | None, Form()] = None,
    activation_at: When = None,
    retire_previous_at: When = None,
    allow_invalid_dates: Annotated[bool, Form()] = False,
) -> CertificateView:
    """Import our key and certificate from PKCS#12; on an alias in use, this is a rotation."""
    data = await read_upload(file)
    return await service.import_own(
        alias, data, password, key_alias, activation_at, retire_previous_at, allow_invalid_dates,
        file.filename or "",
    )  # fmt: skip


@admin.post("/certificates/partner", status_code=status.HTTP_201_CREATED, tags=["certificates"])
async def upload_partner(
    service: Certs,
    file: Upload,
    alias: Annotated[str, Form()],
    activation_at: When = None,
    retire_previous_at: When = None,
    allow_invalid_dates: Annotated[bool, Form()] = False,
    password: Annotated[
        str | None, Form(description="For a PKCS#12 file: its password, to read its entries")
    ] = None,
    entry: Annotated[
        str | None,
        Form(
            description="For a PKCS#12 keystore holding several certificates (OpenAS2's "
            "as2_certs.p12): the name of the partner's entry"
        ),
    ] = None,
) -> CertificateView:
    """Upload a partner's certificate: PEM or DER, a chain or PKCS#7 bundle (its end-entity
    certificate is kept), or an entry of a PKCS#12 file. On an alias in use, a rotation."""
    data = await read_upload(file)
    return await service.upload_partner(
        alias, data, activation_at, retire_previous_at, allow_invalid_dates, file.filename or "",
        password, entry,
    )  # fmt: skip


@read.get("/keystores", tags=["keystores"])
async def list_keystores(stores: Stores) -> list[KeystoreView]:
    return await stores.all()


@admin.post("/keystores", status_code=status.HTTP_201_CREATED, tags=["keystores"])
async def create_keystore(body: KeystoreCreate, stores: Stores) -> KeystoreView:
    return await stores.create(body)


@admin.post("/keystores/import", status_code=status.HTTP_201_CREATED, tags=["keystores"])
async def import_keystore(
    stores: Stores,
    file: Upload,
    station: Annotated[str, Form()],
    partner: Annotated[str, Form()],
    password: Annotated[
        str,
        Form(description="The PKCS#12 password; it also protects exports unless export_password"),
    ],
    key_alias: Annotated[str | None, Form()] = None,
    private_key_alias: Annotated[str | None, Form()] = None,
    partner_cert_alias: Annotated[str | None, Form()] = None,
    allow_invalid_dates: Annotated[bool, Form()] = False,
    partner_file: Annotated[
        UploadFile | None,
        File(
            description="The partner's certificate (PEM or DER), stored with the keystore in "
            "one transaction"
        ),
    ] = None,
    export_password: Annotated[
        str | None,
        Form(description="Protects the keystore's exports (8+ characters); default: password"),
    ] = None,
    partner_file_password: Annotated[
        str | None, Form(description="When partner_file is a PKCS#12 file: its password")
    ] = None,
    partner_file_entry: Annotated[
        str | None,
        Form(
            description="When partner_file is a PKCS#12 file holding several certificates "
            "(OpenAS2's as2_certs.p12): the partner's entry"
        ),
    ] = None,
) -> KeystoreView:
    data = await read_upload(file)
    theirs = (
        (await read_upload(partner_file), partner_file.filename or "") if partner_file else None
    )
    return await stores.import_(
        station, partner, data, password, key_alias, private_key_alias, partner_cert_alias,
        allow_invalid_dates, file.filename or "", theirs, export_password,
        partner_file_password, partner_file_entry,
    )  # fmt: skip


@admin.post(
    "/keystores/{keystore_id}/rotate", status_code=status.HTTP_201_CREATED, tags=["keystores"]
)
async def rotate_keystore(
    keystore_id: uuid.UUID, body: KeystoreRotate, stores: Stores
) -> KeystoreView:
    """A new generated key for the partnership; its previous keys retire after the window.
    A key alias shared with other partnerships stays theirs: this one moves to its own."""
    return await stores.rotate(keystore_id, body)


@admin.post(
    "/keystores/{keystore_id}/rotate/import",
    status_code=status.HTTP_201_CREATED,
    tags=["keystores"],
)
async def rotate_keystore_import(
    keystore_id: uuid.UUID,
    stores: Stores,
    file: Upload,
    password: Annotated[str, Form()],
    key_alias: Annotated[str | None, Form()] = None,
    activation_at: When = None,
    retire_previous_at: When = None,
    allow_invalid_dates: Annotated[bool, Form()] = False,
) -> KeystoreView:
    """As rotate, with our new key and certificate imported from PKCS#12."""
    data = await read_upload(file)
    return await stores.rotate_import(
        keystore_id, data, password, key_alias, activation_at, retire_previous_at,
        allow_invalid_dates, file.filename or "",
    )  # fmt: skip


@read.get("/keystores/{keystore_id}", tags=["keystores"])
async def get_keystore(keystore_id: uuid.UUID, stores: Stores) -> KeystoreView:
    return await stores.get(keystore_id)


@admin.get("/keystores/{keystore_id}/keystore.p12", tags=["keystores"], response_class=Response)
async def export_keystore(keystore_id: uuid.UUID, stores: Stores) -> Response:
    """Our key and certificate plus the partner's certificates, under the keystore password."""
    view = await stores.get(keystore_id)
    body = await stores.export_keystore(keystore_id)
    # Our private key leaves: who took it (the token, and the person the console names).
    logging.getLogger("as2bus.cert").info(
        "private key exported: keystore %s (%s → %s) by %s", keystore_id,
        view.station_as2_id, view.partner_as2_id, current_actor() or "an unknown caller",
    )  # fmt: skip
    return attachment(body, P12, f"{view.station_as2_id}-{view.partner_as2_id}.p12")


@admin.get("/keystores/{keystore_id}/partner.p12", tags=["keystores"], response_class=Response)
async def export_partner(keystore_id: uuid.UUID, stores: Stores) -> Response:
    view = await stores.get(keystore_id)
    body = await stores.export_partner(keystore_id)
    return attachment(body, P12, f"{view.partner_cert_alias}.p12")


@read.get(
    "/keystores/{keystore_id}/certificate.cer", tags=["keystores"], response_class=PlainTextResponse
)
async def public_certificate(
    keystore_id: uuid.UUID,
    stores: Stores,
    which: Annotated[
        Which,
        Query(description="current: the one we sign with now; next: the one a rotation put in"),
    ] = "current",
) -> Response:
    """Our public certificate (PEM): safe to send to the partner."""
    view = await stores.get(keystore_id)
    return attachment(
        await stores.public_certificate(keystore_id, which), PEM, f"{view.private_key_alias}.cer"
    )
