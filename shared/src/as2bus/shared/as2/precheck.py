"""Checks and fixes applied before pyas2lib sees a message.

- A body sent with ``Content-Transfer-Encoding: base64`` is decoded here. pyas2lib mishandles
  some base64 layouts (one was measured delivering corrupted content while reporting
  ``processed``), so it only ever sees binary bodies.
- Encryption pyas2lib cannot do is refused with a reason naming it, instead of a vague
  "could not decrypt": AES-GCM (AuthEnvelopedData) and RSAES-OAEP with a hash other than SHA-1.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from asn1crypto import cms

from as2bus.shared.as2.headers import lower_keys
from as2bus.shared.as2.model import As2Error


def decode_transfer_encoding(
    headers: Mapping[str, str], body: bytes
) -> tuple[dict[str, str], bytes]:
    h = lower_keys(headers)
    if h.get("content-transfer-encoding", "").strip().lower() != "base64":
        return dict(headers), body
    if h.get("content-type", "").lower().startswith("multipart/"):
        return dict(headers), body  # a multipart's parts carry their own encodings
    try:
        decoded = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise As2Error(
            "unexpected-processing-error", "the body is declared base64 but is not"
        ) from None
    kept = {k: v for k, v in headers.items() if k.lower() != "content-transfer-encoding"}
    kept["Content-Transfer-Encoding"] = "binary"
    return kept, decoded


def refuse_unsupported_encryption(headers: Mapping[str, str], body: bytes) -> None:
    content_type = lower_keys(headers).get("content-type", "").lower()
    if not content_type.startswith(("application/pkcs7-mime", "application/x-pkcs7-mime")):
        return
    try:
        info = cms.ContentInfo.load(body)
        kind = info["content_type"].native
    except (ValueError, TypeError, KeyError):
        return  # not DER we can read: pyas2lib will report it
    if kind == "authenticated_enveloped_data":
        raise As2Error(
            "decryption-failed",
            "AES-GCM (CMS AuthEnvelopedData) is not supported; ask the partner for AES-CBC",
        )
    if kind != "enveloped_data":
        return
    try:
        for recipient in info["content"]["recipient_infos"]:
            algorithm = recipient.chosen["key_encryption_algorithm"]
            if algorithm["algorithm"].native != "rsaes_oaep":
                continue
            params = algorithm["parameters"]
            digest = params["hash_algorithm"]["algorithm"].native if params.native else "sha1"
            if digest != "sha1":
                raise As2Error(
                    "decryption-failed",
                    f"RSAES-OAEP key transport with {digest} is not supported (only SHA-1); "
                    "ask the partner for RSA PKCS#1 v1.5 or OAEP with SHA-1",
                )
    except (ValueError, TypeError, KeyError):
        return
