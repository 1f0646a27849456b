"""Create Cert: a partnership's keystore together with the partner's certificate, in one
cert-svc call that stores both or neither.

Option A (our key generated, or the station's kept) is POST /keystores with the partner's
certificate in ``partner_certificate`` (PEM text, or the file's bytes in base64); option B (our
PKCS#12 imported) is POST /keystores/import with it as the ``partner_file`` part. cert-svc
judges the certificate, keeps one it already holds under the alias as it is, and names it in
its refusal; the refusal is shown next to the form's partner file field.

With no file chosen, nothing is sent when cert-svc holds a partner certificate under the alias
(the keystore uses it); the form asks for one otherwise. The console checks only what the form
lacks and the aliases (cert-svc's import takes any text as an alias).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from as2bus.console.adapters.backends import Change
from as2bus.console.adapters.cert_service import CertClient, Upload
from as2bus.console.domain.certificate_forms import FormProblems, problems
from as2bus.contracts.config import ALIAS_PATTERN

Own = Literal["generate", "existing", "import"]
ALIAS_RULE = (
    "an alias is 1 to 128 letters, digits and . _ @ - (no spaces), e.g. myco or myco@amazon"
)
#: The fields of Create Cert's two forms, where cert-svc's refusals are shown.
GENERATE_FIELDS = ("own_key", "password", "private_key_alias", "partner_cert_alias",
                   "partner_file", "partner_file_password", "partner_file_entry")  # fmt: skip
IMPORT_FIELDS = ("file", "password", "export_password", "key_alias", "private_key_alias",
                 "partner_cert_alias", "partner_file", "partner_file_password",
                 "partner_file_entry")  # fmt: skip
#: cert-svc's names of the partner's certificate (JSON field, multipart part): the form's.
PARTNER_FIELDS = {"partner_certificate": "partner_file", "partner_file": "partner_file",
                  "partner_certificate_password": "partner_file_password",
                  "partner_certificate_entry": "partner_file_entry"}  # fmt: skip


@dataclass(frozen=True)
class NewKeystore:
    station: str  # AS2 IDs
    partner: str
    own: Own  # generate our key, keep the station's (existing), or import ours (PKCS#12)
    password: str  # the keystore's; on import the PKCS#12's, which also protects the keystore
    # unless export_password is given
    private_key_alias: str  # "": cert-svc's default
    partner_cert_alias: str
    partner_certificate: Upload | None  # None: the one cert-svc holds under the alias
    p12: Upload | None = None  # import only
    key_alias: str = ""  # import only: the private key's entry in the file ("": its only key)
    export_password: str = ""  # import only: protects the keystore's .p12 ("": the file's)
    # The partner's certificate from a PKCS#12 file: its password, and the partner's entry.
    partner_password: str = ""
    partner_entry: str = ""

    @property
    def form(self) -> str:
        return "import" if self.own == "import" else "generate"


@dataclass(frozen=True)
class Outcome:
    keystore_id: str | None = None  # None: refused, nothing stored
    problems: FormProblems = field(default_factory=FormProblems)
    warnings: list[str] = field(default_factory=list)  # cert-svc's, about dates


async def create_keystore(cert: CertClient, new: NewKeystore) -> Outcome:
    fields = IMPORT_FIELDS if new.form == "import" else GENERATE_FIELDS

    def refused(errors: dict[str, str]) -> Outcome:
        return Outcome(problems=problems(new.form, errors, fields, PARTNER_FIELDS))

    errors = {**_missing(new), **await _partner_missing(cert, new)}
    if errors:
        return refused(errors)
    made = await _keystore_call(cert, new)
    if not made.ok:
        return refused(made.errors)
    return Outcome(str(made.body["id"]), warnings=list(made.body.get("warnings") or []))


def _missing(new: NewKeystore) -> dict[str, str]:
    """What the form lacks, or aliases cert-svc would refuse (its import takes any text as an
    alias: checked here so that no odd alias is stored)."""
    errors = {}
    if not re.fullmatch(ALIAS_PATTERN, new.partner_cert_alias):
        errors["partner_cert_alias"] = ALIAS_RULE
    if new.private_key_alias and not re.fullmatch(ALIAS_PATTERN, new.private_key_alias):
        errors["private_key_alias"] = ALIAS_RULE
    if new.form == "import" and new.p12 is None:
        errors["file"] = "choose our PKCS#12 file (.p12 or .pfx) holding our private key"
    if not new.password:
        errors["password"] = "give the password" + (
            " the PKCS#12 file was exported with" if new.form == "import" else ""
        )
    return errors


async def _partner_missing(cert: CertClient, new: NewKeystore) -> dict[str, str]:
    """No file chosen and no partner certificate in service under the alias: ask for one."""
    if new.partner_certificate is not None:
        return {}
    alias = new.partner_cert_alias
    stored = await cert.certificates(alias, "partner")
    if any(c["state"] in ("active", "pending") for c in stored):
        return {}
    return {"partner_file": "choose the partner's certificate: cert-svc holds none in service "
                            f"under the alias {alias!r}"}  # fmt: skip


def partner_certificate_text(upload: Upload) -> str:
    """The partner's certificate for cert-svc's JSON: a PEM file's text as it is, any other
    file's bytes in base64 (cert-svc reads both, and judges what they hold)."""
    try:
        text = upload.content.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    if "-----BEGIN" in text:
        return text
    return base64.b64encode(upload.content).decode("ascii")


async def _keystore_call(cert: CertClient, new: NewKeystore) -> Change:
    theirs = new.partner_certificate
    if new.own == "import":
        assert new.p12 is not None  # _missing said so
        fields = {"station": new.station, "partner": new.partner, "password": new.password,
                  "partner_cert_alias": new.partner_cert_alias}  # fmt: skip
        if new.key_alias:
            fields["key_alias"] = new.key_alias
        if new.export_password:
            fields["export_password"] = new.export_password
        if theirs is not None and new.partner_password:
            fields["partner_file_password"] = new.partner_password
        if theirs is not None and new.partner_entry:
            fields["partner_file_entry"] = new.partner_entry
        if new.private_key_alias:
            fields["private_key_alias"] = new.private_key_alias
        return await cert.import_keystore(fields, new.p12, theirs)
    body: dict[str, Any] = {"station": new.station, "partner": new.partner,
                            "password": new.password, "own_key": new.own,
                            "partner_cert_alias": new.partner_cert_alias}  # fmt: skip
    if new.private_key_alias:
        body["private_key_alias"] = new.private_key_alias
    if theirs is not None:
        body["partner_certificate"] = partner_certificate_text(theirs)
        if new.partner_password:
            body["partner_certificate_password"] = new.partner_password
        if new.partner_entry:
            body["partner_certificate_entry"] = new.partner_entry
    return await cert.create_keystore(body)
