"""Verifying CMS signatures (detached or opaque) against the partner's certificates, on
``cryptography`` (asn1crypto reads the structures).

Not pyas2lib's ``verify_message``: it ignores RSASSA-PSS parameters (a PSS signature whose MGF1
hash differs from its digest never verifies there) and hashes the content again for every
certificate tried. Here the digest is checked once, which also tells a changed content
(integrity-check-failed) from a wrong key (authentication-failed) — without signed attributes
by recovering the digest from a PKCS#1 v1.5 signature — and PSS is verified with the signer's
parameters. A certificate counts only when its validity period covers the signing time (the
signed attribute, else now), unless an expired one is allowed; when none verifies, the reason
says why (expired, not one of ours, or simply not matching). ``Signature`` checks digests
rather than content, for a document hashed while it streams from a file (``spooled``).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from asn1crypto import algos
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from as2bus.as2.algorithms import SigningAlg
from as2bus.as2.cms import HASHES, describe, load, names, x509_certificate
from as2bus.as2.model import As2Error, Modifier

_DIGESTS = {alg.value: alg for alg in SigningAlg}
T = TypeVar("T")


@dataclass(frozen=True)
class Verified:
    content: bytes  # the exact bytes the signature covers
    alg: SigningAlg
    digest: bytes
    cert: bytes  # the certificate (PEM) that verified it
    signed_at: datetime | None  # the signing-time signed attribute
    key: str  # ``Signature.key``: what the signature signs, as a hex SHA-256


@dataclass(frozen=True)
class _Signer:
    digest_name: str
    expected: bytes | None  # the message-digest signed attribute
    to_be_signed: bytes | None  # DER of the signed attributes, None when there are none
    algorithm: Any
    signature: bytes
    sid: Any
    signing_time: datetime | None  # the signing-time signed attribute


def _signer(signature: bytes) -> _Signer:
    try:
        kind, info = load(signature)
        if kind != "signed_data":
            raise ValueError(kind)
        signer = info["content"]["signer_infos"][0]  # AS2 messages have one signer
        attrs = signer["signed_attrs"]
        return _Signer(
            digest_name=str(signer["digest_algorithm"]["algorithm"].native),
            expected=_message_digest(attrs),
            to_be_signed=attrs.untag().dump() if attrs else None,
            algorithm=signer["signature_algorithm"],
            signature=bytes(signer["signature"].native),
            sid=signer["sid"],
            signing_time=_signing_time(attrs),
        )
    except (As2Error, ValueError, TypeError, KeyError, IndexError):
        pass
    raise As2Error("authentication-failed", "the signature is not readable CMS SignedData")


def verify(
    candidates: Iterable[bytes],
    signature: bytes,
    certs: Sequence[bytes],
    *,
    allow_expired: bool = False,
) -> Verified:
    """Which of ``candidates`` (the exact bytes, then e.g. their CRLF form; produced lazily,
    the first that matches wins) the signature covers, signed by one of ``certs``.
    ``allow_expired``: a certificate whose validity ended before the signing time still counts
    (e.g. to read an MDN signed before the partner's certificate expired)."""
    checked = Signature(signature)
    pairs = ((c, _digest(checked.alg, c)) for c in candidates)
    content, digest = checked.covers(pairs, certs, allow_expired=allow_expired)
    assert checked.verified_by is not None  # covers() returned: one of certs verified
    return Verified(
        content, checked.alg, digest, checked.verified_by, checked.signed_at, checked.key(digest)
    )


class Signature:
    """A detached signature, checked against digests rather than content: a large document
    is hashed while it streams by (``spooled``) and never needs to be in memory."""

    def __init__(self, signature: bytes) -> None:
        self._signer = _signer(signature)
        alg = _DIGESTS.get(self._signer.digest_name)
        if alg is None:
            raise As2Error(
                "insufficient-message-security",
                f"{self._signer.digest_name} signatures are not accepted",
            )
        self.alg: SigningAlg = alg
        #: Which certificate (PEM) verified it, once ``covers`` has returned: with several
        #: in service during a rotation, the record says which one it was.
        self.verified_by: bytes | None = None

    @property
    def signed_at(self) -> datetime | None:
        """The signing-time signed attribute, when the signer gave one."""
        return self._signer.signing_time

    def key(self, digest: bytes) -> str:
        """What this signature signs, as a hex SHA-256, given the content's ``digest``: the
        DER of its signed attributes (the content's digest and the signing time among them;
        no one can change them without breaking the signature), or, without any, the digest
        itself. The same signed message posted again has the same key, whatever its
        Message-ID (an HTTP header, which no signature covers): the mark of a replay."""
        signed = self._signer.to_be_signed
        return hashlib.sha256(digest if signed is None else signed).hexdigest()

    def covers(
        self,
        candidates: Iterable[tuple[T, bytes]],
        certs: Sequence[bytes],
        *,
        allow_expired: bool = False,
    ) -> tuple[T, bytes]:
        """The (candidate, digest with ``alg``) the signature covers; the candidates are pulled
        lazily, so an alternative (the CRLF form) is only computed when the first fails.
        ``allow_expired`` as for ``verify``."""
        signer = self._signer
        if signer.to_be_signed is not None:  # the usual case: the first content that matches
            found = next(((c, d) for c, d in candidates if d == signer.expected), None)
            if found is None:
                raise As2Error(
                    "integrity-check-failed",
                    "the content does not match the digest it was signed with",
                )
            digests = [found]
        else:
            digests = list(candidates)
        if not certs:
            raise As2Error("authentication-failed", "no partner certificate is in service")
        when = signer.signing_time or datetime.now(UTC)
        skipped: list[tuple[bytes, str]] = []
        for cert in sorted(certs, key=lambda pem: not names(signer.sid, pem)):
            invalid = _not_valid_at(cert, when, allow_expired)
            if invalid is not None:
                skipped.append((cert, invalid))
                continue
            for candidate, digest in digests:
                if _signature_ok(cert, signer, digest, self.alg):
                    self.verified_by = cert
                    return candidate, digest
        raise As2Error(*self._why(certs, skipped, [d for _, d in digests]))

    def _why(
        self, certs: Sequence[bytes], skipped: list[tuple[bytes, str]], digests: list[bytes]
    ) -> tuple[Modifier, str]:
        """Why no certificate verified: one outside its validity that would have, a content
        changed under a signature without signed attributes, or a signer we do not know."""
        signer = self._signer
        for cert, invalid in skipped:
            if any(_signature_ok(cert, signer, d, self.alg) for d in digests) or (
                signer.to_be_signed is None and _recovered(cert, signer) is not None
            ):
                return "authentication-failed", f"{invalid} (at signing time {_when(signer)})"
        if signer.to_be_signed is None:
            skipped_certs = {cert for cert, _ in skipped}
            for cert in certs:
                recovered = cert not in skipped_certs and _recovered(cert, signer)
                if recovered and recovered not in digests:
                    return (
                        "integrity-check-failed",
                        "the content does not match the digest it was signed with",
                    )
        if not any(names(signer.sid, cert) for cert in certs):
            return (
                "authentication-failed",
                f"signed with a certificate we do not have ({describe(signer.sid)})",
            )
        if skipped:
            return "authentication-failed", "; ".join(reason for _, reason in skipped)
        return (
            "authentication-failed",
            f"the signature does not verify with the partner's {len(certs)} certificate(s) "
            "in service",
        )


def _when(signer: _Signer) -> str:
    return _stamp(signer.signing_time) if signer.signing_time else "unknown, now"


def _stamp(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _not_valid_at(cert_pem: bytes, when: datetime, allow_expired: bool) -> str | None:
    """Why the certificate does not count at ``when``, or None when it does."""
    try:
        cert = x509_certificate(cert_pem)
    except ValueError:
        return "a partner certificate is not readable"
    serial = f"serial {cert.serial_number:#x}"
    if when < cert.not_valid_before_utc:
        start = _stamp(cert.not_valid_before_utc)
        return f"the partner certificate ({serial}) is valid only from {start}"
    if when > cert.not_valid_after_utc and not allow_expired:
        end = _stamp(cert.not_valid_after_utc)
        return f"the partner certificate ({serial}) expired on {end}"
    return None


def _recovered(cert_pem: bytes, signer: _Signer) -> bytes | None:
    """The digest a PKCS#1 v1.5 signature was made over, if this certificate's key made it:
    without signed attributes, this tells a changed content from another signer."""
    if signer.algorithm.signature_algo != "rsassa_pkcs1v15":
        return None
    try:
        data = _public_key(cert_pem).recover_data_from_signature(
            signer.signature, padding.PKCS1v15(), None
        )
        return bytes(algos.DigestInfo.load(data)["digest"].native)
    except Exception:  # whatever fails here means: not this certificate's signature
        return None


def _digest(alg: SigningAlg, content: bytes) -> bytes:
    return hashlib.new(alg.value, content).digest()


def _message_digest(attrs: Any) -> bytes | None:
    if not attrs:
        return None
    for attr in attrs:
        if attr["type"].native == "message_digest":
            return bytes(attr["values"][0].native)
    raise ValueError("signed attributes without a message digest")


def _signing_time(attrs: Any) -> datetime | None:
    if not attrs:
        return None
    for attr in attrs:
        if attr["type"].native == "signing_time":
            at = attr["values"][0].native
            return at if isinstance(at, datetime) else None
    return None


def _signature_ok(cert_pem: bytes, signer: _Signer, digest: bytes, alg: SigningAlg) -> bool:
    """Over the signed attributes when there are some; otherwise the signature is over the
    content itself, which is given by its ``digest`` (a prehashed verification)."""
    sig_alg, sig, data = signer.algorithm, signer.signature, signer.to_be_signed
    try:
        if sig_alg.signature_algo == "rsassa_pss":
            params = sig_alg["parameters"]
            hash_name = params["hash_algorithm"]["algorithm"].native
            mgf = HASHES[params["mask_gen_algorithm"]["parameters"]["algorithm"].native]()
            scheme = padding.PSS(padding.MGF1(mgf), params["salt_length"].native)
            if data is not None:
                _public_key(cert_pem).verify(sig, data, scheme, HASHES[hash_name]())
                return True
            if hash_name != alg.value:  # the digest we have is not the one PSS signed
                return False
            _public_key(cert_pem).verify(sig, digest, scheme, Prehashed(HASHES[hash_name]()))
            return True
        if sig_alg.signature_algo != "rsassa_pkcs1v15":
            return False
        pkcs1 = padding.PKCS1v15()
        if data is not None:
            _public_key(cert_pem).verify(sig, data, pkcs1, HASHES[alg.value]())
        else:
            _public_key(cert_pem).verify(sig, digest, pkcs1, Prehashed(HASHES[alg.value]()))
        return True
    except Exception:  # whatever fails here means: not this certificate
        return False


@functools.lru_cache(maxsize=256)
def _public_key(cert_pem: bytes) -> rsa.RSAPublicKey:
    key = x509_certificate(cert_pem).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA certificate")
    return key
