"""Message Integrity Check values (RFC 4130 §7.3.1), computed independently of pyas2lib."""

from __future__ import annotations

import base64
import hashlib

from as2bus.as2.algorithms import SigningAlg


def compute_mic(content: bytes, alg: SigningAlg) -> str:
    """base64 of the digest of ``content``: for a signed message, the signed MIME entity,
    header fields included, exactly as the signature covers it."""
    return mic_of(hashlib.new(alg.value, content).digest())


def mic_of(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def micalg_name(alg: SigningAlg) -> str:
    """The spelling of ``micalg`` and Received-Content-MIC: RFC 5751's sha-256, sha-384...;
    SHA-1 as ``sha1``, the spelling of RFC 4130 that every AS2 product reads."""
    return "sha1" if alg == SigningAlg.SHA1 else alg.value.replace("sha", "sha-")
