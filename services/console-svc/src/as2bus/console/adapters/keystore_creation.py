"""Create Cert: a partnership's keystore together with the partner's certificate.

cert-svc takes them in two calls: POST /keystores (or /keystores/import), which stores no
partner certificate, then POST /certificates/partner. It has no call storing both in one
transaction, nor one taking either back (no delete, no dry run). So every refusal must come
before anything is stored, and the order does that:

1. what can be checked without storing is checked first: the aliases, the files given, and the
   partner's certificate file by cert-svc's own rules and words (domain/certificate_files.py),
   including whether cert-svc holds it already (then it is not uploaded again);
2. then the keystore call, whose refusals the console cannot foresee (a PKCS#12's password or
   alias, a key alias in use): refused, it stores nothing, and nothing else is called;
3. last the partner's certificate, already checked in 1.

Only what 1 cannot foresee fails 3 after 2 stored the keystore (a minimum key size above 2048
bits configured in cert-svc, another request at the same moment, cert-svc going away): the
outcome then says so (``partner_refused``) and the keystore page offers the upload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from as2bus.console.adapters.backends import BackendError, Change
from as2bus.console.adapters.cert_service import CertClient, Upload
from as2bus.console.domain.certificate_files import CertificateFileError, check_partner_certificate
from as2bus.console.domain.certificate_forms import FormError, FormProblems, Switch, problems
from as2bus.console.domain.certificate_usage import same_fingerprint
from as2bus.shared.contracts.config import ALIAS_PATTERN

Own = Literal["generate", "existing", "import"]
ALIAS_RULE = (
    "an alias is 1 to 128 letters, digits and . _ @ - (no spaces), e.g. myco or myco@amazon"
)
#: The fields of Create Cert's two forms, where cert-svc's refusals are shown.
GENERATE_FIELDS = ("own_key", "password", "private_key_alias", "partner_cert_alias",
                   "partner_file")  # fmt: skip
IMPORT_FIELDS = ("file", "password", "key_alias", "private_key_alias", "partner_cert_alias",
                 "partner_file")  # fmt: skip


@dataclass(frozen=True)
class NewKeystore:
    station: str  # AS2 IDs
    partner: str
    own: Own  # generate our key, keep the station's (existing), or import ours (PKCS#12)
    password: str  # the keystore's; on import the PKCS#12's, which then protects the keystore
    private_key_alias: str  # "": cert-svc's default
    partner_cert_alias: str
    partner_certificate: Upload | None  # None: the one cert-svc holds under the alias
    p12: Upload | None = None  # import only
    key_alias: str = ""  # import only: the private key's entry in the file ("": its only key)

    @property
    def form(self) -> str:
        return "import" if self.own == "import" else "generate"


@dataclass(frozen=True)
class Outcome:
    keystore_id: str | None = None  # None: refused, nothing stored
    problems: FormProblems = field(default_factory=FormProblems)
    partner_refused: str = ""  # the keystore stands without the partner's certificate: why
    warnings: list[str] = field(default_factory=list)  # cert-svc's, about dates


async def create_keystore(cert: CertClient, new: NewKeystore, now: datetime) -> Outcome:
    fields = IMPORT_FIELDS if new.form == "import" else GENERATE_FIELDS

    def refused(errors: dict[str, str]) -> Outcome:
        return Outcome(problems=problems(new.form, errors, fields))

    errors = _missing(new)
    if errors:
        return refused(errors)
    try:
        upload = await _partner_upload(cert, new, now)
    except FormError as err:
        return refused({err.field: err.message})
    made = await _keystore_call(cert, new)
    if not made.ok:
        return refused(made.errors)
    keystore_id = str(made.body["id"])
    warnings = list(made.body.get("warnings") or [])
    if upload is None:
        return Outcome(keystore_id, warnings=warnings)
    try:
        uploaded = await cert.upload_partner(new.partner_cert_alias, upload, Switch(None, None))
    except BackendError as err:  # the keystore is stored: say so rather than fail the page
        return Outcome(keystore_id, partner_refused=str(err), warnings=warnings)
    if not uploaded.ok:
        return Outcome(keystore_id, partner_refused="; ".join(uploaded.errors.values()),
                       warnings=warnings)  # fmt: skip
    return Outcome(keystore_id, warnings=warnings + list(uploaded.body.get("warnings") or []))


def _missing(new: NewKeystore) -> dict[str, str]:
    """What the form lacks, or aliases cert-svc would refuse (its partner upload and import
    take any text as an alias: checked here so that no odd alias is stored)."""
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


async def _partner_upload(cert: CertClient, new: NewKeystore, now: datetime) -> Upload | None:
    """The partner's certificate to upload after the keystore, None when cert-svc holds it
    already; FormError when it would be refused."""
    alias = new.partner_cert_alias
    stored = await cert.certificates(alias, "partner")
    given = new.partner_certificate
    if given is None:
        if any(c["state"] in ("active", "pending") for c in stored):
            return None
        raise FormError("partner_file", "choose the partner's certificate: cert-svc holds none "
                        f"in service under the alias {alias!r}")  # fmt: skip
    try:
        checked = check_partner_certificate(given.content, given.filename, now)
    except CertificateFileError as err:
        raise FormError("partner_file", str(err)) from None
    same = next((c for c in stored if same_fingerprint(c["fingerprint_sha256"],
                                                       checked.fingerprint)), None)  # fmt: skip
    if same is None:
        return given
    if same["state"] == "retired":
        raise FormError("partner_file", f"this certificate was stored under the alias {alias!r} "
                        "before and is retired: ask the partner for its current one")  # fmt: skip
    return None  # already there: uploading it again would be refused


async def _keystore_call(cert: CertClient, new: NewKeystore) -> Change:
    if new.own == "import":
        assert new.p12 is not None  # _missing said so
        fields = {"station": new.station, "partner": new.partner, "password": new.password,
                  "partner_cert_alias": new.partner_cert_alias}  # fmt: skip
        if new.key_alias:
            fields["key_alias"] = new.key_alias
        if new.private_key_alias:
            fields["private_key_alias"] = new.private_key_alias
        return await cert.import_keystore(fields, new.p12)
    body = {"station": new.station, "partner": new.partner, "password": new.password,
            "own_key": new.own, "partner_cert_alias": new.partner_cert_alias}  # fmt: skip
    if new.private_key_alias:
        body["private_key_alias"] = new.private_key_alias
    return await cert.create_keystore(body)
