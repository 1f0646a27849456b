"""Just enough PKCS#12 (RFC 7292) parsing to explain why a file could not be loaded.

cryptography reports every failure as a bare ``ValueError``. To tell the user whether the file is
not PKCS#12 at all, whether the password is wrong, or whether the encryption is one this server's
OpenSSL cannot decrypt (e.g. RC2-40 when the legacy provider is off), we read the parts that need
no password: the PFX outline, the PBE algorithm identifiers, and the MacData. The MAC is then
recomputed here, because a matching MAC proves the password right, so the failure must be the
encryption. This is deliberately not a general ASN.1 parser (asn1crypto is not a dependency):
single-byte tags only, with BER indefinite lengths and constructed OCTET STRINGs, which some
older tools still write.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

_SEQUENCE, _OCTET_STRING, _OID, _INTEGER, _CONTEXT_0 = 0x30, 0x04, 0x06, 0x02, 0xA0
_DATA, _ENCRYPTED_DATA = "1.2.840.113549.1.7.1", "1.2.840.113549.1.7.6"
_KEY_BAG, _SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.1", "1.2.840.113549.1.12.10.1.2"
_PBES2 = "1.2.840.113549.1.5.13"
_MAX_DEPTH = 16  # PKCS#12 nests about 8 deep; bounds recursion on hostile input
# Two steps through a file: piping the first into the second fails, as `pkcs12 -export` reads
# its input twice (key, then certificates). Without -nodes the key in tmp.pem stays encrypted.
CONVERT_COMMAND = (
    "openssl pkcs12 -legacy -in old.p12 -out tmp.pem && "
    "openssl pkcs12 -export -in tmp.pem -name ALIAS -out new.p12"
)
PARTNER_ONLY = "upload only the partner's public certificate (PEM or DER)"
MAX_MAC_ITERATIONS = 1_000_000  # recomputing the MAC is Python: beyond this, don't try

# PBE schemes -> (name shown to users, readable without OpenSSL's legacy provider?)
_ALGORITHMS: dict[str, tuple[str, bool]] = {
    "1.2.840.113549.1.12.1.1": ("RC4-128 (openssl -legacy)", False),
    "1.2.840.113549.1.12.1.2": ("RC4-40 (openssl -legacy)", False),
    "1.2.840.113549.1.12.1.3": ("3DES (pbeWithSHAAnd3-KeyTripleDES-CBC)", True),
    "1.2.840.113549.1.12.1.4": ("2-key 3DES (pbeWithSHAAnd2-KeyTripleDES-CBC)", True),
    "1.2.840.113549.1.12.1.5": ("RC2-128 (openssl -legacy)", False),
    "1.2.840.113549.1.12.1.6": ("RC2-40 (openssl -legacy)", False),
    "1.2.840.113549.1.5.3": ("DES with MD5 (PBES1)", False),
    "1.2.840.113549.1.5.10": ("DES with SHA-1 (PBES1)", False),
    # PBES2 content-encryption schemes (the name is taken from the inner cipher)
    "2.16.840.1.101.3.4.1.2": ("AES-128-CBC (PBES2)", True),
    "2.16.840.1.101.3.4.1.22": ("AES-192-CBC (PBES2)", True),
    "2.16.840.1.101.3.4.1.42": ("AES-256-CBC (PBES2)", True),
    "1.2.840.113549.3.7": ("DES-EDE3-CBC (PBES2)", True),
    "1.3.14.3.2.7": ("DES-CBC (PBES2)", False),
    "1.2.840.113549.3.2": ("RC2-CBC (PBES2)", False),
}
_MAC_HASHES = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}


@dataclass(frozen=True)
class Algorithm:
    name: str  # what to tell the user, e.g. "RC2-40 (openssl -legacy)" or "unknown (1.2.3)"
    modern: bool  # False: legacy (needs OpenSSL's legacy provider) or unknown here


@dataclass(frozen=True)
class Pfx:
    auth_safe: bytes  # the bytes the MAC covers
    algorithms: list[Algorithm]  # PBE schemes visible without the password, in file order
    has_visible_key: bool  # a (shrouded) key bag outside any encrypted part
    mac_hash: str | None  # OID of the MAC digest; None when the file has no MAC
    mac: bytes = b""
    mac_salt: bytes = b""
    mac_iterations: int = 1


def _tlv(buf: bytes, pos: int, depth: int = 0) -> tuple[int, bytes, int]:
    """Read the element at ``pos``: (tag, contents, position after it)."""
    if depth > _MAX_DEPTH or pos + 2 > len(buf):
        raise ValueError("the data ends early or nests too deep")
    tag, length, pos = buf[pos], buf[pos + 1], pos + 2
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte ASN.1 tag")
    if length == 0x80:  # BER indefinite length: children up to an end-of-contents 00 00
        start = pos
        while buf[pos : pos + 2] != b"\0\0":
            pos = _tlv(buf, pos, depth + 1)[2]
        return tag, buf[start:pos], pos + 2
    if length & 0x80:
        size = length & 0x7F
        length, pos = int.from_bytes(buf[pos : pos + size]), pos + size
    if pos + length > len(buf):
        raise ValueError("the data ends early")
    return tag, buf[pos : pos + length], pos + length


def _children(content: bytes, *expected: int) -> list[tuple[int, bytes]]:
    """Elements of a constructed value; the first ones must have the ``expected`` tags."""
    out, pos = [], 0
    while pos < len(content):
        tag, value, pos = _tlv(content, pos)
        out.append((tag, value))
    if len(out) < len(expected) or any(t != e for (t, _), e in zip(out, expected, strict=False)):
        raise ValueError("unexpected ASN.1 structure")
    return out


def _sequence_of(der: bytes) -> list[tuple[int, bytes]]:
    """Elements of the DER SEQUENCE that an OCTET STRING wraps."""
    return _children(_children(der, _SEQUENCE)[0][1])


def content_infos(auth_safe: bytes) -> list[tuple[int, bytes]]:
    """The parts of an AuthenticatedSafe (SEQUENCE OF ContentInfo), as (tag, contents)."""
    return _sequence_of(auth_safe)


def _octets(tag: int, value: bytes, depth: int = 0) -> bytes:
    """OCTET STRING contents; BER may split them into a constructed string of pieces."""
    if tag == _OCTET_STRING:
        return value
    if tag == _OCTET_STRING | 0x20 and depth < _MAX_DEPTH:
        return b"".join(_octets(t, v, depth + 1) for t, v in _children(value))
    raise ValueError("expected an OCTET STRING")


def _explicit(value: bytes) -> tuple[int, bytes]:
    """The one element inside an [0] EXPLICIT wrapper."""
    inner = _children(value)
    if len(inner) != 1:
        raise ValueError("unexpected ASN.1 structure")
    return inner[0]


def _oid(value: bytes) -> str:
    arcs, n = [], 0
    for byte in value:
        n = n << 7 | byte & 0x7F
        if not byte & 0x80:
            arcs.append(n)
            n = 0
    if not arcs:
        raise ValueError("empty OID")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))


def _algorithm(alg_id: bytes) -> Algorithm:
    """AlgorithmIdentifier of a PBE; for PBES2 the cipher inside its parameters names it."""
    (_, oid), *params = _children(alg_id, _OID)
    name = _oid(oid)
    if (
        name == _PBES2 and params
    ):  # PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }
        _, scheme = _children(params[0][1], _SEQUENCE, _SEQUENCE)[1]
        name = _oid(_children(scheme, _OID)[0][1])
    return Algorithm(*_ALGORITHMS.get(name, (f"unknown ({name})", False)))


def parse_pfx(data: bytes) -> Pfx:
    """Outline of a PFX; raises ValueError (with a short reason) when ``data`` is not one."""
    tag, pfx, _ = _tlv(data, 0)
    if tag != _SEQUENCE:
        raise ValueError("does not start with an ASN.1 SEQUENCE")
    # PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData MacData OPTIONAL }
    (_, version), (_, auth_ci), *mac_data = _children(pfx, _INTEGER, _SEQUENCE)
    (_, ctype), (_, wrapped) = _children(auth_ci, _OID, _CONTEXT_0)[:2]
    if version != b"\x03" or _oid(ctype) != _DATA:
        raise ValueError("not a password-protected PFX version 3")
    auth_safe = _octets(*_explicit(wrapped))
    algorithms, has_key = [], False
    for _, content_info in _sequence_of(auth_safe):  # AuthenticatedSafe: SEQUENCE OF ContentInfo
        (_, ctype), (_, body) = _children(content_info, _OID, _CONTEXT_0)[:2]
        if _oid(ctype) == _DATA:  # plain SafeContents: bag types and key-bag PBEs are visible
            for _, bag in _sequence_of(_octets(*_explicit(body))):  # SEQUENCE OF SafeBag
                (_, bag_id), (_, bag_value) = _children(bag, _OID, _CONTEXT_0)[:2]
                has_key |= _oid(bag_id) in (_KEY_BAG, _SHROUDED_KEY_BAG)
                if _oid(bag_id) == _SHROUDED_KEY_BAG:  # EncryptedPrivateKeyInfo { alg, data }
                    epki = _children(bag_value, _SEQUENCE)[0][1]
                    algorithms.append(_algorithm(_children(epki, _SEQUENCE)[0][1]))
        elif _oid(ctype) == _ENCRYPTED_DATA:  # EncryptedData { version, EncryptedContentInfo }
            eci = _children(_children(body, _SEQUENCE)[0][1], _INTEGER, _SEQUENCE)[1][1]
            algorithms.append(_algorithm(_children(eci, _OID, _SEQUENCE)[1][1]))
    if not mac_data:
        return Pfx(auth_safe, algorithms, has_key, None)
    # MacData ::= SEQUENCE { DigestInfo { AlgorithmIdentifier, digest }, salt, iterations }
    (_, digest_info), (_, salt), *rest = _children(mac_data[0][1], _SEQUENCE, _OCTET_STRING)
    (_, alg), (_, mac) = _children(digest_info, _SEQUENCE, _OCTET_STRING)
    iterations = int.from_bytes(rest[0][1]) if rest else 1
    mac_hash = _oid(_children(alg, _OID)[0][1])
    return Pfx(auth_safe, algorithms, has_key, mac_hash, mac, salt, iterations)


def explain_failure(data: bytes, password: str, name: str = "") -> tuple[str, str, str]:
    """(field, message, code) saying why a PKCS#12 that cryptography refused could not be
    loaded; ``name`` is the file's name, when known."""
    try:
        pfx = parse_pfx(data)
    except ValueError as exc:
        if b"-----BEGIN" in data[:4096]:
            hint = (
                "a PEM file; combine key and certificate with 'openssl pkcs12 -export "
                "-inkey our.key -in our.crt -name ALIAS -out our.p12'"
            )
        elif "ends early" in str(exc):
            hint = "it ends early: copy the whole file again"
        else:  # ASN.1 details would not help: say what is expected
            hint = "expected a .p12/.pfx file holding our private key and its certificate"
        return "file", f"{name or 'this'} is not a PKCS#12 file ({hint})", "not_pkcs12"
    matches = mac_matches(pfx, password)
    old = ", ".join(dict.fromkeys(a.name for a in pfx.algorithms if not a.modern))
    if matches is False or (matches is None and not old):
        return (
            "password",
            "wrong password for this PKCS#12 file: give the password it was exported with",
            "wrong_password",
        )
    if old:  # the MAC proves the password right (or there is no MAC to check): blame the cipher
        message = (
            f"this PKCS#12 file uses {old} encryption, which this server cannot read; convert "
            f"it to modern AES encryption with: {CONVERT_COMMAND} (then delete tmp.pem)"
        )
        return "file", message, "legacy_encryption"
    message = (
        "the password is right, but this PKCS#12 file could not be read "
        "(damaged, or holding a key type this server does not support)"
    )
    return "file", message, "unreadable_pkcs12"


def partner_upload_problem(data: bytes, name: str, file: str) -> str | None:
    """Why a PKCS#12 file given without its password is not yet a partner certificate upload;
    None when it is not PKCS#12. ``file`` is the file's name as a shell word, for commands.

    Without the password nothing but the outline can be read (keytool encrypts the
    certificates too), so the entries' names cannot be listed here: the answer is to give the
    password, or to take the certificate out first. A partner's certificate is a "CA"
    certificate to openssl (it has no key beside it), hence ``-cacerts``: ``-clcerts`` would
    write an empty file."""
    try:
        pfx = parse_pfx(data)
    except ValueError:
        return None
    if pfx.has_visible_key:  # a keystore like OpenAS2's as2_certs.p12: our key + partners'
        return (
            f"{name} is a PKCS#12 keystore holding a private key: to upload one of its partner "
            "certificates, give the file's password and the entry's name (as2bus cert "
            f"upload-partner {file} --alias ALIAS --entry NAME --password ...), or take it out "
            f"with 'keytool -exportcert -rfc -keystore {file} -storetype PKCS12 -alias NAME "
            "-file partner.pem'"
        )
    return (  # certificates only (or a key hidden in an encrypted part)
        f"{name} is a PKCS#12 file: give its password to upload its certificate (as2bus cert "
        f"upload-partner {file} --alias ALIAS --password ...), or take it out with 'openssl "
        f"pkcs12 -in {file} -nokeys -cacerts -out partner.pem'"
    )


def mac_matches(pfx: Pfx, password: str) -> bool | None:
    """Does ``password`` produce the file's MAC? None when it cannot be checked here."""
    hash_name = _MAC_HASHES.get(pfx.mac_hash or "")
    if hash_name is None or not 0 < pfx.mac_iterations <= MAX_MAC_ITERATIONS:
        return None
    # Passwords are BMPStrings with a 00 00 terminator; OpenSSL also tries an empty password
    # as no bytes at all, so both spellings count.
    candidates = [bmp_password(password)] + ([b""] if not password else [])
    for secret in candidates:
        key = mac_key(hash_name, secret, pfx.mac_salt, pfx.mac_iterations)
        if hmac.compare_digest(hmac.new(key, pfx.auth_safe, hash_name).digest(), pfx.mac):
            return True
    return False


def bmp_password(password: str) -> bytes:
    """A password as PKCS#12 feeds it to its key derivation: a BMPString with 00 00 after."""
    return password.encode("utf-16-be") + b"\0\0"


def mac_key(hash_name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
    """RFC 7292 appendix B.2 key derivation with ID 3 (MAC key), one hash-length block."""
    v = hashlib.new(hash_name).block_size

    def fill(s: bytes) -> bytes:  # repeat s up to a multiple of v bytes
        n = -(-len(s) // v) * v
        return (s * (n // len(s) + 1))[:n] if s else b""

    block = b"\x03" * v + fill(salt) + fill(password)
    for _ in range(iterations):
        block = hashlib.new(hash_name, block).digest()
    return block
