"""PKCS#12 files that Java's keytool reads whole (OpenAS2 and Mendelson keep their keys in them).

Java lists a certificate bag as a trustedCertEntry only when the bag carries Oracle's
trusted-key-usage attribute; without it, keytool skips the partner's certificate in our export
and shows nothing of it. cryptography writes that attribute only in a truststore, a file with no
key (``serialize_java_truststore``), so a keystore export joins two files cryptography made
with the same password: our key with its certificate, and the partners' certificates as a
truststore. A PKCS#12 file is a list of parts, each encrypted on its own, so the parts of both
go into one list, whose MAC is then computed again (RFC 7292 appendix B).
"""

from __future__ import annotations

import hmac
import secrets

from as2bus.cert.pkcs12_probe import bmp_password, content_infos, mac_key, parse_pfx

_SEQUENCE, _OCTET_STRING, _OID, _INTEGER, _CONTEXT_0 = 0x30, 0x04, 0x06, 0x02, 0xA0
_DATA_OID = bytes.fromhex("2a864886f70d010701")  # 1.2.840.113549.1.7.1
_SHA256_OID = "2.16.840.1.101.3.4.2.1"
_SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")  # with NULL parameters


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8)
    return bytes([tag, 0x80 | len(length)]) + length + content


def _integer(value: int) -> bytes:
    return _der(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1))


def join(keystore: bytes, truststore: bytes, password: str) -> bytes:
    """One PKCS#12 file holding the parts of ``keystore`` and ``truststore``, both written by
    cryptography with ``password`` and a SHA-256 MAC (as ``x509`` exports)."""
    first, second = parse_pfx(keystore), parse_pfx(truststore)
    if first.mac_hash != _SHA256_OID:
        raise ValueError("expected a PKCS#12 file with a SHA-256 MAC")
    parts = content_infos(first.auth_safe) + content_infos(second.auth_safe)
    auth_safe = _der(_SEQUENCE, b"".join(_der(tag, value) for tag, value in parts))
    salt, iterations = secrets.token_bytes(16), first.mac_iterations
    key = mac_key("sha256", bmp_password(password), salt, iterations)
    mac = hmac.new(key, auth_safe, "sha256").digest()
    mac_data = _der(
        _SEQUENCE,
        _der(_SEQUENCE, _SHA256_ALGORITHM + _der(_OCTET_STRING, mac))
        + _der(_OCTET_STRING, salt)
        + _integer(iterations),
    )
    content_info = _der(
        _SEQUENCE, _der(_OID, _DATA_OID) + _der(_CONTEXT_0, _der(_OCTET_STRING, auth_safe))
    )
    return _der(_SEQUENCE, _integer(3) + content_info + mac_data)
