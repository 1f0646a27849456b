"""cert-svc's calls the certificate pages make (GET for reads; changes on behalf of the
signed-in user, who cert-svc's audit trail records). Downloads pass through the console: the
browser never talks to cert-svc, nor sees its token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import UploadFile

from as2bus.console.adapters.backends import Backend, Change, File
from as2bus.console.domain.certificate_forms import Switch

KEYSTORES = "/api/v1/keystores"
CERTIFICATES = "/api/v1/certificates"
#: What the console offers to download from a keystore, by the console's (and cert-svc's) name.
KeystoreFile = Literal["keystore.p12", "partner.p12", "certificate.cer"]
#: cert-svc's limit on an uploaded file (1 MiB).
MAX_FILE_BYTES = 1_048_576


@dataclass(frozen=True)
class Upload:
    """A file from a form, read (certificates and PKCS#12 files are a few KB)."""

    filename: str
    content: bytes
    media_type: str = "application/octet-stream"

    def part(self) -> tuple[str, bytes, str]:
        return (self.filename or "upload", self.content, self.media_type)


async def read_upload(file: UploadFile | None) -> Upload | None:
    """The file chosen in a form, None when its input was left empty (browsers then send an
    empty part without a name)."""
    if file is None or not file.filename:
        return None
    # cert-svc refuses more than 1 MiB: one byte more lets it say so, without reading more.
    content = await file.read(MAX_FILE_BYTES + 1)
    return Upload(file.filename, content, file.content_type or "application/octet-stream")


class CertClient:
    def __init__(self, backend: Backend, actor: str) -> None:
        self._cert = backend
        self._actor = actor

    # --- reads ------------------------------------------------------------------------------
    async def keystores(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._cert.get(KEYSTORES) or []
        return found

    async def keystore(self, keystore_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self._cert.get(f"{KEYSTORES}/{keystore_id}")
        return found

    async def all_certificates(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._cert.get(CERTIFICATES) or []
        return found

    async def certificates(self, alias: str, kind: str) -> list[dict[str, Any]]:
        params = {"alias": alias, "kind": kind}
        found: list[dict[str, Any]] = await self._cert.get(CERTIFICATES, params) or []
        return found

    async def keystore_file(self, keystore_id: str, name: KeystoreFile) -> File | None:
        return await self._cert.file(f"{KEYSTORES}/{keystore_id}/{name}")

    async def certificate_file(self, cert_id: str) -> File | None:
        return await self._cert.file(f"{CERTIFICATES}/{cert_id}/certificate.pem")

    # --- changes ----------------------------------------------------------------------------
    async def create_keystore(self, body: dict[str, Any]) -> Change:
        """KeystoreCreate: our key generated (or the station's kept), with the partner's
        certificate when the body has ``partner_certificate``, in one transaction."""
        return await self._change("POST", KEYSTORES, json=body)

    async def import_keystore(
        self, fields: dict[str, str], p12: Upload, partner: Upload | None = None
    ) -> Change:
        """Our PKCS#12 as the keystore's key, with the partner's certificate (``partner_file``)
        when given, in one transaction."""
        files = {"file": p12.part()}
        if partner is not None:
            files["partner_file"] = partner.part()
        return await self._change("POST", f"{KEYSTORES}/import", data=fields, files=files)

    async def upload_partner(
        self,
        alias: str,
        certificate: Upload,
        when: Switch,
        *,
        password: str | None = None,
        entry: str | None = None,
    ) -> Change:
        """The partner's certificate under ``alias``: a rotation when the alias has one.
        ``password`` and ``entry``: for a PKCS#12 file (its password, the partner's entry)."""
        p12 = {k: v for k, v in (("password", password), ("entry", entry)) if v is not None}
        return await self._change(
            "POST",
            f"{CERTIFICATES}/partner",
            data={"alias": alias, **when.form_fields(), **p12},
            files={"file": certificate.part()},
        )

    async def rotate(self, keystore_id: str, body: dict[str, Any]) -> Change:
        return await self._change("POST", f"{KEYSTORES}/{keystore_id}/rotate", json=body)

    async def rotate_import(
        self, keystore_id: str, fields: dict[str, str], p12: Upload, when: Switch
    ) -> Change:
        return await self._change(
            "POST",
            f"{KEYSTORES}/{keystore_id}/rotate/import",
            data={**fields, **when.form_fields()},
            files={"file": p12.part()},
        )

    async def _change(self, method: str, path: str, **kwargs: Any) -> Change:
        return await self._cert.change(method, path, actor=self._actor, **kwargs)
