"""Certificate handling for cert-svc: parse, check, generate and export. No I/O.

Every refusal is a ``CertificateError`` naming the API field at fault and, where the user can
act on it, a code; its message is one sentence saying what is wrong and what to do, with the
uploaded file's name when there is one. AS2 here means RSA keys only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from as2bus.cert import pkcs12_java, pkcs12_probe

MAX_UPLOAD_BYTES = 1_048_576
_KEY_SIZES = (2048, 3072, 4096)
_CLOCK_SKEW = timedelta(minutes=5)  # partners' clocks run a little fast or slow
_KDF_ROUNDS = 100_000  # PBKDF2-SHA256 for exports; OpenSSL's 2048 default is weak for a key file


class CertificateError(ValueError):
    """Bad certificate input. `field` names the API field at fault ("file", "password", ...)."""

    def __init__(self, field: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


@dataclass(frozen=True)
class CertInfo:
    subject: str  # RFC 4514, e.g. "CN=MYCO,O=My Co"
    issuer: str
    serial: str  # hex, upper case, no separators
    fingerprint_sha256: str  # "AB:CD:..."
    not_before: datetime  # tz-aware UTC
    not_after: datetime
    key_bits: int
    cert_pem: str


@dataclass(frozen=True)
class OwnKey:
    key_pem: str  # PKCS#8 PEM, unencrypted: the caller seals it
    cert: CertInfo
    chain_pems: list[str]  # the certificate's CA chain as found in the file (may be empty)
    alias: str | None
    #: The names of the file's other certificate entries (e.g. partners' in OpenAS2's
    #: as2_certs.p12), not imported with the key: the user is told how to upload them.
    other_entries: tuple[str, ...] = ()


def cert_info(cert: x509.Certificate) -> CertInfo:
    key = cert.public_key()
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=serial_hex(cert.serial_number),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_bits=key.key_size
        if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        else 0,
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    )


def serial_hex(number: int) -> str:
    """A serial number as openssl prints it (``0503E94F...``): whole bytes, so a number whose
    first byte is below 0x10 keeps its leading zero, and a phone check reads both alike."""
    digits = f"{number:X}"
    return digits.zfill(len(digits) + len(digits) % 2)


def describe(cert_pem: str | bytes) -> CertInfo:
    data = cert_pem.encode("ascii") if isinstance(cert_pem, str) else cert_pem
    try:
        return cert_info(x509.load_pem_x509_certificate(data))
    except ValueError as exc:
        raise CertificateError(
            "file", "this is not a PEM X.509 certificate", "not_a_certificate"
        ) from exc


def check_rsa(key: object, min_key_bits: int, what: str) -> int:
    """Key size of an RSA key of at least ``min_key_bits``; AS2 here is RSA only."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size < min_key_bits:
            raise CertificateError(
                "file",
                f"{what} is a {key.key_size}-bit key; at least {min_key_bits} bits required, "
                "so a certificate with a longer RSA key is needed",
                "key_too_short",
            )
        return key.key_size
    kind = type(key).__name__.replace("PublicKey", "").replace("PrivateKey", "")
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        kind += f" ({key.curve.name})"
    raise CertificateError(
        "file",
        f"{what} is a {kind} key; AS2 here uses RSA keys only, so an RSA certificate is needed",
        "key_not_rsa",
    )


def check_size(data: bytes, name: str = "the file") -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise CertificateError(
            "file",
            f"{name} is {len(data)} bytes, larger than 1 MiB: a certificate or PKCS#12 file is "
            "a few KB, so this is probably not the right file",
            "file_too_large",
        )


def generate_self_signed(
    common_name: str,
    *,
    key_bits: int = 2048,
    validity_days: int = 730,
    now: datetime,
    organization: str | None = None,
) -> OwnKey:
    if not 1 <= len(common_name.strip()) <= 64:  # X.509 upper bound for a CN
        raise CertificateError("common_name", "common name must be 1 to 64 characters")
    organization = (organization or "").strip() or None  # blank means none
    if organization is not None and len(organization) > 64:
        raise CertificateError("organization", "organization must be at most 64 characters")
    if key_bits not in _KEY_SIZES:
        raise CertificateError("key_bits", f"key_bits must be one of {_KEY_SIZES}, not {key_bits}")
    if not 1 <= validity_days <= 3650:
        raise CertificateError("validity_days", "validity_days must be 1 to 3650")
    if now.tzinfo is None:
        raise CertificateError("now", "now must be timezone-aware")
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    # O before CN in the DER sequence: RFC 4514 lists the last RDN first, so this reads "CN=..,O=.."
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else []
    name = x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, common_name.strip())])
    # What an AS2 certificate does: sign messages and MDNs (content_commitment, i.e. non-
    # repudiation: a signed MDN is proof of receipt) and receive session keys (key_encipherment).
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(secrets.randbits(128) | 1 << 127)  # top bit set: always 32 hex digits
        .not_valid_before(now.astimezone(UTC) - _CLOCK_SKEW)
        .not_valid_after(now.astimezone(UTC) + timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return OwnKey(_key_pem(key), cert_info(cert), [], None)


def _key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_p12(data: bytes, password: str, name: str = "") -> pkcs12.PKCS12KeyAndCertificates:
    check_size(data, name or "the file")
    # OpenSSL runs whatever key-derivation count the file asks for: bound it before handing over.
    try:
        iterations = pkcs12_probe.parse_pfx(data).mac_iterations
    except ValueError:
        iterations = 1  # not parseable here: OpenSSL's own error is explained below
    if iterations > pkcs12_probe.MAX_MAC_ITERATIONS:
        raise CertificateError(
            "file", f"{name or 'the file'} asks for {iterations} MAC iterations; at most "
            f"{pkcs12_probe.MAX_MAC_ITERATIONS} are accepted: export it again with the default",
            "too_many_iterations",
        )  # fmt: skip
    try:
        return pkcs12.load_pkcs12(data, password.encode("utf-8") or None)
    except (ValueError, UnsupportedAlgorithm):  # no more than "invalid password or PKCS12 data"
        field, message, code = pkcs12_probe.explain_failure(data, password, name)
    raise CertificateError(field, message, code)


def entry_alias(entry: pkcs12.PKCS12Certificate) -> str | None:
    name = entry.friendly_name
    return None if name is None else name.decode("utf-8", errors="replace")


def issuers(leaf: x509.Certificate, others: list[x509.Certificate]) -> list[x509.Certificate]:
    """The leaf's issuers among ``others``, bottom up (partner certs in a keystore are skipped)."""
    chain, current = [], leaf
    while current.issuer != current.subject:
        up = next((c for c in others if c.subject == current.issuer and c not in chain), None)
        if up is None:
            break
        chain.append(up)
        current = up
    return chain


def load_own_pkcs12(
    data: bytes,
    password: str,
    key_alias: str | None = None,
    *,
    min_key_bits: int = 2048,
    name: str = "",
) -> OwnKey:
    p12 = load_p12(data, password, name)
    if p12.key is None:
        raise CertificateError(
            "file",
            f"no private key in this PKCS#12 file (it holds {len(p12.additional_certs)} "
            "certificate(s)); for a partner's certificate use the partner certificate upload",
            "no_private_key",
        )
    if p12.cert is None:  # OpenSSL pairs the key with the certificate holding its public key
        raise CertificateError(
            "file",
            "the private key does not match any certificate in the file; export the key "
            "together with its own certificate",
            "key_certificate_mismatch",
        )
    aliases = [entry_alias(e) for e in (p12.cert, *p12.additional_certs)]
    if key_alias is not None and key_alias != aliases[0]:
        if key_alias in aliases:
            raise CertificateError(
                "key_alias",
                f"entry '{key_alias}' is a certificate without a private key; "
                f"the key in this file is under '{aliases[0]}'",
                "key_alias_not_a_key",
            )
        present = ", ".join(a for a in dict.fromkeys(aliases) if a is not None) or "(none)"
        raise CertificateError(
            "key_alias",
            f"no entry '{key_alias}' in the file; aliases present: {present}",
            "key_alias_not_found",
        )
    key, cert = p12.key, p12.cert.certificate
    check_rsa(key, min_key_bits, "the private key")
    assert isinstance(key, rsa.RSAPrivateKey)  # for mypy: check_rsa refused anything else
    _check_match(key, cert)
    chain = issuers(cert, [e.certificate for e in p12.additional_certs])
    others = tuple(
        alias
        for entry in p12.additional_certs
        if entry.certificate not in chain and (alias := entry_alias(entry)) is not None
    )
    pems = [c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain]
    return OwnKey(_key_pem(key), cert_info(cert), pems, aliases[0], others)


def _check_match(key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
    if key.public_key() != cert.public_key():
        raise CertificateError(
            "file",
            "the private key does not match the certificate; export the key together with "
            "its own certificate",
            "key_certificate_mismatch",
        )


def check_dates(
    cert: CertInfo, now: datetime, *, allow_invalid_dates: bool, name: str = "the certificate"
) -> list[str]:
    """Warnings for a certificate outside its validity dates, or a refusal naming ``name``."""
    if now < cert.not_before:
        when = f"is not valid until {cert.not_before:%Y-%m-%d %H:%M:%S} UTC"
        code, fix = "certificate_not_yet_valid", "wait until then"
    elif now > cert.not_after:
        when = f"expired on {cert.not_after:%Y-%m-%d %H:%M:%S} UTC"
        code, fix = "certificate_expired", "get a current one"
    else:
        return []
    if not allow_invalid_dates:
        raise CertificateError(
            "file",
            f"{name} {when}; {fix}, or store it anyway with allow_invalid_dates "
            "(as2bus: --allow-invalid-dates)",
            code,
        )
    return [f"certificate {when}"]


def _encryption(password: str) -> serialization.KeySerializationEncryption:
    if not password:
        raise CertificateError(
            "password", "a password is required to protect the export", "password_required"
        )
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode("utf-8"))
    )


def _truststore(partner_certs: list[tuple[str, str]], password: str) -> bytes:
    """The partners' certificates as trusted certificates: Java's keytool (OpenAS2, Mendelson)
    lists a certificate entry only with the attribute ``serialize_java_truststore`` adds."""
    entries = [
        pkcs12.PKCS12Certificate(x509.load_pem_x509_certificate(pem.encode()), alias.encode())
        for alias, pem in partner_certs
    ]
    return pkcs12.serialize_java_truststore(entries, _encryption(password))


def export_keystore_p12(
    own: OwnKey | tuple[str, str],
    own_alias: str,
    partner_certs: list[tuple[str, str]],
    password: str,
) -> bytes:
    key_pem, cert_pem = (own.key_pem, own.cert.cert_pem) if isinstance(own, OwnKey) else own
    encryption = _encryption(password)
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError("file", "our private key must be RSA")
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    _check_match(key, cert)
    ours = pkcs12.serialize_key_and_certificates(own_alias.encode(), key, cert, None, encryption)
    if not partner_certs:
        return ours
    return pkcs12_java.join(ours, _truststore(partner_certs, password), password)


def export_partner_p12(partner_certs: list[tuple[str, str]], password: str) -> bytes:
    return _truststore(partner_certs, password)


def load_p12_certificates(data: bytes, password: str) -> list[tuple[str | None, CertInfo]]:
    p12 = load_p12(data, password)
    entries = ([p12.cert] if p12.cert else []) + list(p12.additional_certs)
    return [(entry_alias(e), cert_info(e.certificate)) for e in entries]
