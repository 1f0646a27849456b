"""Building and parsing AS2 messages on pyas2lib, with the fixes and checks it lacks."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from as2bus.shared.algorithms import (
    Compression,
    EncryptionAlg,
    SigningAlg,
    TransferEncoding,
    normalize_signing,
)
from as2bus.shared.as2 import _lib, precheck
from as2bus.shared.as2._lib import (
    ExpandedTooLargeError,
    asymmetric,
    expansion_limit,
    forget_traceback,
    pyas2,
    pyas2_cms,
    pyas2_errors,
    pyas2_utils,
)
from as2bus.shared.as2.headers import lower_keys, mdn_request, raw_message, summarize_request
from as2bus.shared.as2.model import (
    As2Error,
    KeyPair,
    LocalParty,
    OutgoingMessage,
    PartyLookup,
    ReceivedMessage,
    RemoteParty,
)

ENCRYPTION = {
    EncryptionAlg.TRIPLE_DES: "tripledes_192_cbc",
    EncryptionAlg.AES128: "aes_128_cbc",
    EncryptionAlg.AES192: "aes_192_cbc",
    EncryptionAlg.AES256: "aes_256_cbc",
}


def key_bundle(pair: KeyPair) -> bytes:
    """pyas2lib loads a private key and its certificate from one PEM blob."""
    return pair.key_pem.rstrip() + b"\n" + pair.cert_pem


def _one_line(value: str) -> str:
    return " ".join(part.strip() for part in str(value).splitlines())


def build_message(
    payload: bytes,
    *,
    sender: LocalParty,
    receiver: RemoteParty,
    filename: str | None = None,
    content_type: str = "application/edi-x12",
    subject: str = "AS2 Message",
    message_id: str | None = None,
    receipt_to: str = "as2bus",
) -> OutgoingMessage:
    if receiver.signing is not None and sender.signing is None:
        raise ValueError(f"signing for {receiver.as2_id} needs a key of {sender.as2_id} in service")
    if receiver.encryption is not None and receiver.encrypt_cert is None:
        raise ValueError(f"encrypting for {receiver.as2_id} needs its certificate")
    after_signing = receiver.compression == Compression.AFTER_SIGNING
    mid = (message_id or "").strip("<>")
    left, _, domain = mid.rpartition("@")
    org = pyas2.Organization(
        as2_name=sender.as2_id,
        sign_key=key_bundle(sender.signing) if sender.signing else None,
        mdn_url=receiver.async_mdn_url,
        domain=domain or None,
    )
    partner = pyas2.Partner(
        as2_name=receiver.as2_id,
        encrypt_cert=receiver.encrypt_cert,
        validate_certs=False,
        compress=receiver.compression == Compression.BEFORE_SIGNING,
        sign=receiver.signing is not None,
        digest_alg=(receiver.signing or SigningAlg.SHA256).value,
        encrypt=receiver.encryption is not None and not after_signing,
        enc_alg=ENCRYPTION[receiver.encryption or EncryptionAlg.AES256],
        mdn_mode={"sync": "SYNC", "async": "ASYNC"}.get(receiver.mdn_mode or ""),
        mdn_digest_alg=receiver.mdn_signing.value if receiver.mdn_signing else None,
    )
    message = pyas2.Message(org, partner)
    message.build(
        payload,
        filename=filename,
        subject=subject,
        content_type=content_type,
        disposition_notification_to=receipt_to,
        message_id=left or None,
    )
    if after_signing:
        _compress_then_encrypt(message, receiver)
    headers = {k: _one_line(v) for k, v in message.headers.items()}
    body: bytes = message.content
    if receiver.encoding == TransferEncoding.BASE64 and not message.payload.is_multipart():
        body = base64.encodebytes(body).replace(b"\n", b"\r\n")
        headers["Content-Transfer-Encoding"] = "base64"
    mic = message.mic.decode() if message.mic else None
    return OutgoingMessage(
        message_id=f"<{message.message_id}>",
        headers=headers,
        body=body,
        mic=mic,
        mic_alg=receiver.signing if mic else None,
    )


def _compress_then_encrypt(message: Any, receiver: RemoteParty) -> None:
    """RFC 5402 allows compressing the signed entity; pyas2lib only compresses before signing."""
    from email import message as email_message

    compressed = email_message.Message()
    compressed.set_type("application/pkcs7-mime")
    compressed.set_param("name", "smime.p7z")
    compressed.set_param("smime-type", "compressed-data")
    compressed.add_header("Content-Transfer-Encoding", "binary")
    compressed.set_payload(pyas2_cms.compress_message(pyas2_utils.mime_to_bytes(message.payload)))
    entity = compressed
    if receiver.encryption is not None:
        enveloped = email_message.Message()
        enveloped.set_type("application/pkcs7-mime")
        enveloped.set_param("name", "smime.p7m")
        enveloped.set_param("smime-type", "enveloped-data")
        enveloped.add_header("Content-Transfer-Encoding", "binary")
        cert = asymmetric.load_certificate(receiver.encrypt_cert)
        data = pyas2_cms.encrypt_message(
            pyas2_utils.mime_to_bytes(compressed), ENCRYPTION[receiver.encryption], cert
        )
        enveloped.set_payload(data)
        entity = enveloped
    for name, value in message.payload.items():
        if name.lower() not in (
            "content-type",
            "content-transfer-encoding",
            "mime-version",
            "content-disposition",
        ):
            entity[name] = value
    message.payload = entity
    message.compressed = True


def parse_message(
    headers: Mapping[str, str],
    body: bytes,
    *,
    lookup: PartyLookup,
    max_payload_bytes: int = 500 * 1024 * 1024,
) -> ReceivedMessage:
    summary = summarize_request(headers)
    if not (summary.message_id and summary.as2_from and summary.as2_to):
        raise As2Error(
            "unexpected-processing-error", "Message-ID, AS2-From and AS2-To are required"
        )
    local, remote = lookup(summary.as2_from, summary.as2_to)
    if not body.strip():
        raise As2Error("unexpected-processing-error", "the message body is empty")
    headers, body = precheck.decode_transfer_encoding(headers, body)
    precheck.refuse_unsupported_encryption(headers, body)
    raw = raw_message(headers, body)
    failure: As2Error | None = None
    keys: list[KeyPair | None] = [*local.decryption] or [None]
    certs: list[bytes | None] = [*remote.verify_certs] or [None]
    for key in keys:
        for cert in certs:
            try:
                return _parse_once(
                    raw, summary.message_id, local, remote, key, cert, max_payload_bytes
                )
            except _TryNextCert as err:  # before its base class: try the next certificate
                failure = err.error
            except _TryNextKey as err:
                failure = err.error
                break  # this key cannot decrypt: the next certificate will not help
    assert failure is not None
    raise failure


class _TryNextKey(Exception):
    def __init__(self, error: As2Error) -> None:
        self.error = error


class _TryNextCert(_TryNextKey):
    pass


def _parse_once(
    raw: bytes,
    message_id: str,
    local: LocalParty,
    remote: RemoteParty,
    key: KeyPair | None,
    cert: bytes | None,
    limit: int,
) -> ReceivedMessage:
    org = pyas2.Organization(as2_name=local.as2_id, decrypt_key=key_bundle(key) if key else None)
    partner = pyas2.Partner(
        as2_name=remote.as2_id,
        verify_cert=cert or _lib.NO_CERTIFICATE_PEM,
        validate_certs=False,
        sign=remote.require_signed,
        encrypt=remote.require_encrypted,
    )
    message = pyas2.Message()
    with expansion_limit(limit):
        _, (error, _trace), _ = message.parse(
            raw, find_org_partner_cb=lambda _o, _p: (org, partner)
        )
    if error is not None:
        forget_traceback(error)
        mapped = _as2_error(error, key, cert)
        if isinstance(error, pyas2_errors.DecryptionError):
            raise _TryNextKey(mapped)
        if isinstance(error, pyas2_errors.IntegrityError):
            raise _TryNextCert(mapped)
        raise mapped
    content = message.payload.get_payload(decode=True) or b""
    if len(content) > limit:
        raise As2Error("unexpected-processing-error", f"the document exceeds {limit} bytes")
    mic_alg = normalize_signing(message.digest_alg) if message.digest_alg else None
    h = lower_keys(dict(message.payload.items()))
    return ReceivedMessage(
        message_id=message_id,
        as2_from=remote.as2_id,
        as2_to=local.as2_id,
        payload=content,
        filename=message.payload.get_filename(),
        content_type=message.payload.get_content_type(),
        subject=h.get("subject"),
        signed=bool(message.signed),
        encrypted=bool(message.encrypted),
        compressed=bool(message.compressed),
        mic=message.mic.decode() if message.mic else None,
        mic_alg=mic_alg,
        mdn=mdn_request(h),
    )


def _as2_error(error: BaseException, key: KeyPair | None, cert: bytes | None) -> As2Error:
    if isinstance(error, ExpandedTooLargeError):
        return As2Error("unexpected-processing-error", str(error))
    if isinstance(error, pyas2_errors.DecryptionError):
        hint = "" if key else " (no key of ours is in service)"
        return As2Error("decryption-failed", f"could not decrypt with our key{hint}: {error}")
    if isinstance(error, pyas2_errors.IntegrityError):
        hint = "" if cert else " (no partner certificate is in service)"
        kind = (
            "integrity-check-failed"
            if "Digest does not match" in str(error)
            else "authentication-failed"
        )
        return As2Error(kind, f"the signature does not verify{hint}: {error}")  # type: ignore[arg-type]
    if isinstance(error, pyas2_errors.InsufficientSecurityError):
        return As2Error("insufficient-message-security", str(error))
    if isinstance(error, (binascii.Error, ValueError, pyas2_errors.AS2Exception)):
        return As2Error("unexpected-processing-error", f"the message could not be read: {error}")
    return As2Error("unexpected-processing-error", f"{type(error).__name__}: {error}")
