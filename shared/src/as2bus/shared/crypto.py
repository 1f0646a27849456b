"""Secrets at rest: AES-256-GCM with the master key from the environment.

A sealed value looks like ``v1.<nonce>.<ciphertext>`` (URL-safe base64). The caller passes a
context string (for example ``partner:<id>:http_auth``) that is bound into the tag as associated
data, so a ciphertext copied onto another row or field fails to open.
"""

from __future__ import annotations

import base64
import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"


class MasterKeyError(ValueError):
    """The master key is missing or malformed."""


class SecretDecryptError(ValueError):
    """A sealed value could not be opened (wrong key, wrong context or tampered)."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_master_key() -> str:
    """A new random master key, in the form ``AS2BUS_MASTER_KEY`` expects."""
    return _b64e(AESGCM.generate_key(bit_length=256))


class SecretBox:
    def __init__(self, master_key: str) -> None:
        try:
            key = _b64d(master_key.strip())
        except ValueError:
            raise MasterKeyError("AS2BUS_MASTER_KEY is not valid base64") from None
        if len(key) != 32:
            raise MasterKeyError(
                "AS2BUS_MASTER_KEY must be 32 random bytes in base64 "
                "(create one with: as2bus keygen)"
            )
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext, context.encode())
        return f"{_VERSION}.{_b64e(nonce)}.{_b64e(sealed)}"

    def open(self, token: str, context: str) -> bytes:
        try:
            version, nonce, sealed = token.split(".")
            if version != _VERSION:
                raise ValueError(version)
            return self._aead.decrypt(_b64d(nonce), _b64d(sealed), context.encode())
        except (ValueError, InvalidTag):
            raise SecretDecryptError(f"cannot open secret for {context}") from None


@functools.lru_cache(maxsize=256)  # the same few certificates, for every message
def certificate_fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of a certificate's DER, as cert-svc shows it (``AB:CD:...``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    return x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256()).hex(":").upper()
