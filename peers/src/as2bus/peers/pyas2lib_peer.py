"""pyas2lib as a partner in tests and the reference in the benchmarks: the one module that
imports pyas2lib and oscrypto, with the fixes they need on this machine. Development only: the
codec does not use it (it runs on ``cryptography``), and no image installs it.

1. oscrypto 1.3.0 (pinned by pyas2lib 1.4.4; PyPI has no newer) finds the OpenSSL version with
   ``\\b(\\d\\.\\d\\.\\d[a-z]*)\\b``. That cannot match a two-digit patch number ("3.0.19"), and
   oscrypto then refuses to load (LibraryNotFoundError). While oscrypto's libcrypto module first
   loads, ``re.search`` is wrapped so that this exact pattern also accepts ``\\d+``.
2. A deadlock seen under load when a service ran on pyas2lib: cffi takes a non-reentrant lock
   the first time it parses a C type or looks up a symbol; a garbage collection inside that
   region that frees an oscrypto key runs the key's ``__del__``, which needs the same lock.
   ``_warm_up()`` runs every oscrypto path pyas2lib takes here once at import, and keys and
   certificates are cached, so neither happens while a test exchanges messages.

pyas2lib's ``Organization``/``Partner`` are what its ``Message``/``Mdn`` take; ``to_organization``
and ``to_partner`` convert our parties.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from as2bus.as2.algorithms import Compression, EncryptionAlg, SigningAlg, normalize_signing
from as2bus.as2.model import KeyPair, LocalParty, OutgoingMessage, RemoteParty

_OSCRYPTO_VERSION_PATTERN = "\\b(\\d\\.\\d\\.\\d[a-z]*)\\b"
_FIXED_PATTERN = "\\b(\\d\\.\\d\\.\\d+[a-z]*)\\b"


@contextmanager
def _two_digit_openssl_patch_versions() -> Iterator[None]:
    """Only oscrypto's version pattern changes, and only while this block runs."""
    real_search = re.search

    def search(pattern: Any, string: Any, flags: Any = 0) -> Any:
        if pattern == _OSCRYPTO_VERSION_PATTERN:
            pattern = _FIXED_PATTERN
        return real_search(pattern, string, flags)

    re.search = search
    try:
        yield
    finally:
        re.search = real_search


with _two_digit_openssl_patch_versions():
    # The first import of oscrypto's asymmetric module loads libcrypto and checks its version.
    from oscrypto import asymmetric, symmetric

from oscrypto._openssl import _libcrypto  # noqa: E402
from pyas2lib import as2 as pyas2  # noqa: E402
from pyas2lib import cms as pyas2_cms  # noqa: E402

OPENSSL_VERSION_INFO: tuple[int | str, ...] = tuple(_libcrypto.libcrypto_version_info)


ENCRYPTION_NAMES = {
    EncryptionAlg.TRIPLE_DES: "tripledes_192_cbc",
    EncryptionAlg.AES128: "aes_128_cbc",
    EncryptionAlg.AES192: "aes_192_cbc",
    EncryptionAlg.AES256: "aes_256_cbc",
}


def key_bundle(pair: KeyPair) -> bytes:
    """What ``Organization.load_key`` reads: PKCS#12, or PEM with the key and its certificate."""
    return pair.key_pem.rstrip() + b"\n" + pair.cert_pem


@functools.lru_cache(maxsize=256)
def private_key(pair: KeyPair) -> tuple[Any, Any]:
    """(oscrypto private key, oscrypto certificate), loaded once per key pair."""
    key, cert = pyas2.Organization.load_key(key_bundle(pair), None)
    return key, cert


@functools.lru_cache(maxsize=512)
def certificate(pem: bytes) -> Any:
    return asymmetric.load_certificate(pem)


def to_organization(local: LocalParty, *, mdn_url: str | None = None) -> Any:
    """Our side as a pyas2lib Organization (signing key, first decryption key)."""
    org = pyas2.Organization(as2_name=local.as2_id, mdn_url=mdn_url)
    # Assigned after construction: __post_init__ would parse the PEM again on every call.
    org.sign_key = private_key(local.signing) if local.signing else None
    org.decrypt_key = private_key(local.decryption[0]) if local.decryption else None
    return org


def to_partner(remote: RemoteParty) -> Any:
    """The partner as a pyas2lib Partner, from our sending settings. pyas2lib also reads its
    ``sign``/``encrypt`` as what it requires when parsing, and only compresses before signing."""
    return pyas2.Partner(
        as2_name=remote.as2_id,
        verify_cert=remote.verify_certs[0] if remote.verify_certs else None,
        encrypt_cert=remote.encrypt_cert,
        validate_certs=False,
        compress=remote.compression != Compression.NONE,
        sign=remote.signing is not None,
        digest_alg=(remote.signing or SigningAlg.SHA256).value,
        encrypt=remote.encryption is not None,
        enc_alg=ENCRYPTION_NAMES[remote.encryption or EncryptionAlg.AES256],
        mdn_mode={"sync": "SYNC", "async": "ASYNC"}.get(remote.mdn_mode or ""),
        mdn_digest_alg=remote.mdn_signing.value if remote.mdn_signing else None,
    )


def to_outgoing(message: Any) -> OutgoingMessage:
    """A message pyas2lib built, back in our terms (headers to POST, body, expected MIC)."""
    headers = {k: " ".join(str(v).split()) for k, v in message.headers.items()}
    mic = message.mic.decode() if message.mic else None
    return OutgoingMessage(
        message_id=f"<{message.message_id}>",
        headers=headers,
        body=message.content,
        mic=mic,
        mic_alg=normalize_signing(message.digest_alg) if mic else None,
    )


def _warm_up() -> None:
    """Every oscrypto path the codec takes, once (see 2. above). A small key is enough."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def pair() -> KeyPair:
        # Thrown away after warming up, never protects anything; small, so import stays fast.
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "warm-up")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        return KeyPair(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            cert.public_bytes(serialization.Encoding.PEM),
        )

    mine, other = pair(), pair()
    key, cert = private_key(mine)
    other_key, _ = private_key(other)
    signature = asymmetric.rsa_pkcs1v15_sign(key, b"warm-up", "sha256")
    asymmetric.rsa_pkcs1v15_verify(certificate(mine.cert_pem), signature, b"warm-up", "sha256")
    for wrapped, unwrap in (
        (asymmetric.rsa_pkcs1v15_encrypt(cert, b"k" * 16), asymmetric.rsa_pkcs1v15_decrypt),
        (asymmetric.rsa_oaep_encrypt(cert, b"k" * 16), asymmetric.rsa_oaep_decrypt),
    ):
        unwrap(key, wrapped)
        with suppress(OSError, ValueError):  # the failure path looks up its own symbols
            unwrap(other_key, wrapped)
    pyas2_cms.sign_message(b"warm-up", "sha256", (key, cert))
    for name in ENCRYPTION_NAMES.values():
        pyas2_cms.encrypt_message(b"warm-up", name, cert)
    iv, sealed = symmetric.aes_cbc_pkcs7_encrypt(b"k" * 32, b"warm-up", None)
    symmetric.aes_cbc_pkcs7_decrypt(b"k" * 32, sealed, iv)
    iv, sealed = symmetric.tripledes_cbc_pkcs5_encrypt(b"k" * 24, b"warm-up", None)
    symmetric.tripledes_cbc_pkcs5_decrypt(b"k" * 24, sealed, iv)
    with suppress(OSError, ValueError):  # bad padding
        symmetric.aes_cbc_pkcs7_decrypt(b"x" * 32, sealed[:8] * 2, iv[:16] * 2)


_warm_up()

__all__ = [
    "ENCRYPTION_NAMES",
    "OPENSSL_VERSION_INFO",
    "asymmetric",
    "certificate",
    "private_key",
    "pyas2",
    "pyas2_cms",
    "symmetric",
    "to_organization",
    "to_outgoing",
    "to_partner",
]
