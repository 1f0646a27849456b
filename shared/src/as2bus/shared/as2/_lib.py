"""The one place that imports pyas2lib (and its oscrypto), with the fixes it needs here.

1. oscrypto 1.3.0 (pinned by pyas2lib 1.4.4; PyPI has no newer) reads the OpenSSL version with
   ``\\b(\\d\\.\\d\\.\\d[a-z]*)\\b``, which cannot match a two-digit patch such as "3.0.19", and
   then refuses to load (LibraryNotFoundError). While oscrypto's libcrypto module first loads,
   ``re.search`` is wrapped so that exact pattern also accepts ``\\d+``; nothing else changes.
2. pyas2lib inflates compressed content without a bound; ``decompress_message`` is replaced by
   one that stops at ``MAX_EXPANDED_BYTES`` (set per parse), so a zip bomb cannot exhaust memory.
3. A deadlock, seen in inbound-svc: cffi takes a non-reentrant lock the first time it parses a
   C type or looks up a symbol; if a garbage collection runs inside that region and frees an
   oscrypto key, the key's ``__del__`` needs the same lock and the thread hangs forever.
   ``warm_up()`` runs every oscrypto path we use once at import, so cffi's caches are filled
   and the lock is not taken again; the codec also breaks the reference cycles (exception
   tracebacks) that left keys to the garbage collector in the first place.
4. pyas2lib logs a full traceback at ERROR for every message it cannot parse; the codec reports
   those itself, so pyas2lib's logger is kept to CRITICAL.
"""

from __future__ import annotations

import contextvars
import logging
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

_OSCRYPTO_VERSION_PATTERN = "\\b(\\d\\.\\d\\.\\d[a-z]*)\\b"
_FIXED_PATTERN = "\\b(\\d\\.\\d\\.\\d+[a-z]*)\\b"


@contextmanager
def _two_digit_openssl_patch_versions() -> Iterator[None]:
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
    from oscrypto import asymmetric  # loads libcrypto: the version check runs now

from asn1crypto import cms as asn1_cms  # noqa: E402
from pyas2lib import as2 as pyas2  # noqa: E402
from pyas2lib import cms as pyas2_cms  # noqa: E402
from pyas2lib import exceptions as pyas2_errors  # noqa: E402
from pyas2lib import utils as pyas2_utils  # noqa: E402

_expand_limit: contextvars.ContextVar[int] = contextvars.ContextVar("expand_limit", default=1 << 30)


class ExpandedTooLargeError(ValueError):
    pass


def _bounded_decompress(data: bytes) -> bytes:
    """pyas2lib's decompress_message, with a bound on the inflated size."""
    content = asn1_cms.ContentInfo.load(data)
    compressed = content["content"]["encap_content_info"]["content"].native
    limit = _expand_limit.get()
    inflater = zlib.decompressobj()
    out = inflater.decompress(compressed, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise ExpandedTooLargeError(f"decompressed content exceeds {limit} bytes")
    return out + inflater.flush()


@contextmanager
def expansion_limit(limit: int) -> Iterator[None]:
    token = _expand_limit.set(limit)
    try:
        yield
    finally:
        _expand_limit.reset(token)


pyas2.decompress_message = _bounded_decompress
logging.getLogger("pyas2lib").setLevel(logging.CRITICAL)


def forget_traceback(error: BaseException | None) -> None:
    """Drop the frames an exception keeps alive (with the keys in their locals) so those are
    freed now, by reference counting, rather than later by the garbage collector."""
    seen = 0
    while error is not None and seen < 10:
        error.__traceback__ = None
        error = error.__cause__ or error.__context__
        seen += 1


#: A certificate whose key is thrown away: it verifies nothing. Handed to pyas2lib when no
#: partner certificate is in service, so a signed message fails as authentication-failed
#: (pyas2lib would crash loading None and report an unexpected error instead).
NO_CERTIFICATE_PEM = b""


def warm_up() -> None:
    """Sign, verify, encrypt and decrypt once (and fail to decrypt once) with a throwaway key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa
    from cryptography.x509.oid import NameOID

    global NO_CERTIFICATE_PEM

    def pair() -> tuple[Any, Any, bytes]:
        key = crypto_rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "warm-up")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        return asymmetric.load_private_key(pem), asymmetric.load_certificate(cert_pem), cert_pem

    (key, cert, _), (other_key, _, NO_CERTIFICATE_PEM) = pair(), pair()
    for digest in ("sha1", "sha256"):
        signature = pyas2_cms.sign_message(b"warm-up", digest, (key, cert))
        pyas2_cms.verify_message(b"warm-up", signature, cert)
    for cipher in ("tripledes_192_cbc", "aes_128_cbc", "aes_256_cbc"):
        sealed = pyas2_cms.encrypt_message(b"warm-up", cipher, cert)
        pyas2_cms.decrypt_message(sealed, (key, cert))
        try:
            pyas2_cms.decrypt_message(sealed, (other_key, cert))
        except pyas2_errors.AS2Exception as err:
            forget_traceback(err)
    pyas2_cms.decompress_message(pyas2_cms.compress_message(b"warm-up"))


warm_up()

__all__ = [
    "ExpandedTooLargeError",
    "asymmetric",
    "expansion_limit",
    "forget_traceback",
    "pyas2",
    "pyas2_cms",
    "pyas2_errors",
    "pyas2_utils",
]
