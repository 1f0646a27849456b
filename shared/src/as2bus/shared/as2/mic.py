"""Message Integrity Check values (RFC 4130 §7.3.1), computed independently of pyas2lib."""

from __future__ import annotations

import base64
import hashlib

from as2bus.shared.algorithms import SigningAlg


def compute_mic(content: bytes, alg: SigningAlg) -> str:
    """base64 of the digest of ``content`` (the signed MIME entity, headers included)."""
    return base64.b64encode(hashlib.new(alg.value, content).digest()).decode("ascii")


def micalg_name(alg: SigningAlg) -> str:
    """The spelling RFC 5751 uses in ``micalg`` and MDNs: sha-256, sha1 stays sha1."""
    return {"sha1": "sha1"}.get(alg.value, alg.value.replace("sha", "sha-"))
