"""A partner's certificate from the files partners and older gateways hand over: one
certificate (PEM or DER), a chain (PEM bundle or PKCS#7 .p7b), or an entry of a PKCS#12
keystore such as OpenAS2's or Mendelson's as2_certs.p12 (our key and the partners' trusted
certificates). No I/O.

as2bus pins the partner's own certificate, the one that signs and that we encrypt to, and keeps
no chain with it: a chain comes down to its end-entity certificate, the one issuing none of the
others, and the user is told which certificates were left out.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from as2bus.cert import pkcs12_probe
from as2bus.cert.x509 import (
    CertificateError,
    CertInfo,
    cert_info,
    check_rsa,
    check_size,
    entry_alias,
    issuers,
    load_p12,
)

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
_NOT_A_CERTIFICATE = (
    "is not a certificate: expected a PEM or DER X.509 certificate (.cer/.crt/.pem), a chain of "
    "them or a PKCS#7 bundle (.p7b); ask the partner for its public certificate"
)


@dataclass(frozen=True)
class PartnerFile:
    cert: CertInfo
    notes: list[str]  # what the file held besides, left out: told the user as warnings


def load_partner_certificate(
    data: bytes,
    *,
    min_key_bits: int = 2048,
    name: str = "the file",
    password: str | None = None,
    entry: str | None = None,
) -> PartnerFile:
    """The partner's certificate in ``data``; ``password`` and ``entry`` (the entry's name) are
    for a PKCS#12 file, where one certificate entry is taken: the one named, else the only one."""
    check_size(data, name)
    blocks = [(m[1].decode(), m[0]) for m in _PEM_BLOCK.finditer(data)]
    if any("PRIVATE KEY" in label for label, _ in blocks) or _is_der_key(data):
        raise CertificateError(
            "file", f"{name} holds a private key; {pkcs12_probe.PARTNER_ONLY}", "private_key_upload"
        )
    if entry is not None and (blocks or not _is_pkcs12(data)):
        raise CertificateError(
            "entry",
            f"{name} is not a PKCS#12 keystore, so it has no entries: upload it without an "
            "entry name (an empty entry field in the console; as2bus: without --entry)",
            "not_a_keystore",
        )
    notes: list[str] = []
    if blocks:
        certs = _pem_certificates(blocks, name)
    elif _is_pkcs12(data):
        if password is None:
            file = shlex.quote(name) if name != "the file" else "FILE.p12"
            problem = pkcs12_probe.partner_upload_problem(data, name, file)
            raise CertificateError("file", problem or name, "pkcs12_upload")
        certs = _keystore_entry(data, password, entry, name)
    else:
        certs = _der_certificates(data, name)
    cert, others = _end_entity(certs, name)
    if others:
        subjects = "; ".join(c.subject.rfc4514_string() for c in others)
        notes.append(
            f"{name} also held {_count(len(others), 'issuing certificate')} ({subjects}), not "
            "kept: as2bus pins the partner's own certificate, not its chain"
        )
    check_rsa(cert.public_key(), min_key_bits, f"{name}'s public key")
    return PartnerFile(cert_info(cert), notes)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _is_pkcs12(data: bytes) -> bool:
    try:
        pkcs12_probe.parse_pfx(data)
    except ValueError:
        return False
    return True


def _is_der_key(data: bytes) -> bool:
    try:
        serialization.load_der_private_key(data, None)
    except TypeError:  # an encrypted PKCS#8 key is a key all the same
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def _not_a_certificate(name: str) -> CertificateError:
    # the parsers' own words (ASN.1 offsets) would not help anyone
    return CertificateError("file", f"{name} {_NOT_A_CERTIFICATE}", "not_a_certificate")


def _pem_certificates(blocks: list[tuple[str, bytes]], name: str) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    try:
        for label, block in blocks:
            if label == "CERTIFICATE":
                certs.append(x509.load_pem_x509_certificate(block))
            elif label == "PKCS7":
                certs.extend(pkcs7.load_pem_pkcs7_certificates(block))
    except ValueError:
        raise _not_a_certificate(name) from None
    if not certs:
        found = ", ".join(dict.fromkeys(label for label, _ in blocks))
        raise CertificateError(
            "file",
            f"{name} is a PEM file holding no certificate (found: {found}); upload the "
            "partner's certificate",
            "not_one_certificate",
        )
    return certs


def _der_certificates(data: bytes, name: str) -> list[x509.Certificate]:
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        pass
    try:  # a .p7b: a PKCS#7 SignedData carrying certificates only
        certs = pkcs7.load_der_pkcs7_certificates(data)
    except ValueError:
        raise _not_a_certificate(name) from None
    if not certs:
        raise CertificateError(
            "file", f"{name} is a PKCS#7 file holding no certificate", "not_one_certificate"
        )
    return certs


def _keystore_entry(
    data: bytes, password: str, entry: str | None, name: str
) -> list[x509.Certificate]:
    """The certificate of one certificate entry of a PKCS#12 keystore, the one named, else the
    only one (a key's own certificate and its chain are not partners')."""
    p12 = load_p12(data, password, name)
    mine = [p12.cert.certificate] if p12.cert else []
    mine += issuers(mine[0], [e.certificate for e in p12.additional_certs]) if mine else []
    entries = [e for e in p12.additional_certs if e.certificate not in mine]
    names = [entry_alias(e) or "(no name)" for e in entries]
    key_entry = entry_alias(p12.cert) if p12.cert else None
    listed = ", ".join(names) or "none"
    if entry is None:
        if not entries:
            raise CertificateError(
                "file",
                f"{name} holds no certificate besides its private key's; "
                f"{pkcs12_probe.PARTNER_ONLY}",
                "no_certificate_entry",
            )
        if len(entries) > 1:
            raise CertificateError(
                "entry",
                f"{name} holds {len(entries)} certificate entries ({listed}): name the "
                "partner's (the console's entry field; as2bus: --entry NAME)",
                "entry_required",
            )
        chosen = entries[0]
    else:
        if key_entry is not None and entry.lower() == key_entry.lower():
            raise CertificateError(
                "entry",
                f"entry {entry!r} holds a private key, not a partner's certificate; the "
                f"certificate entries of {name} are: {listed}",
                "entry_holds_a_key",
            )
        matches = [e for e, n in zip(entries, names, strict=True) if n == entry] or [
            e for e, n in zip(entries, names, strict=True) if n.lower() == entry.lower()
        ]
        if len(matches) != 1:
            raise CertificateError(
                "entry",
                f"no entry {entry!r} in {name}; its certificate entries are: {listed}",
                "entry_not_found",
            )
        chosen = matches[0]
    return [chosen.certificate]


def _end_entity(
    certs: list[x509.Certificate], name: str
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The certificate that issues none of the others, and the others. Among several such
    (unrelated certificates), the one that is not a CA; refused when still not one."""
    unique = list({c.fingerprint(hashes.SHA256()): c for c in certs}.values())
    leaves = [c for c in unique if not any(d is not c and d.issuer == c.subject for d in unique)]
    if len(leaves) > 1:
        leaves = [c for c in leaves if not _is_ca(c)]
    if len(leaves) != 1:
        subjects = "; ".join(c.subject.rfc4514_string() for c in unique)
        raise CertificateError(
            "file",
            f"{name} holds {len(unique)} certificates and more than one could be the "
            f"partner's own ({subjects}): upload the partner's own certificate alone",
            "not_one_certificate",
        )
    return leaves[0], [c for c in unique if c is not leaves[0]]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
