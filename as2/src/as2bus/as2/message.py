"""Building AS2 messages: our MIME, pyas2lib's CMS (see ``cms``).

The payload travels as its own MIME entity with ``Content-Transfer-Encoding: binary`` (or
base64), so it arrives byte for byte whatever its type and line endings.
"""

from __future__ import annotations

import hashlib
import uuid
from email.utils import formatdate

from as2bus.as2 import cms, mime
from as2bus.as2.algorithms import Compression, SigningAlg, TransferEncoding
from as2bus.as2.headers import quote_as2_name
from as2bus.as2.mic import mic_of, micalg_name
from as2bus.as2.model import KeyPair, LocalParty, OutgoingMessage, RemoteParty

AS2_VERSION = "1.2"  # 1.1 plus compression (RFC 5402)
#: We resend with the same Message-ID and detect duplicates: AS2 Reliability (RFC 6017).
EDIINT_FEATURES = "AS2-Reliability"

Part = tuple[list[tuple[str, str]], bytes]  # header fields, body


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@as2bus>"


def _leaf(content_type: str, body: bytes, base64: bool, filename: str | None) -> Part:
    fields = [("Content-Type", content_type)]
    fields.append(("Content-Transfer-Encoding", "base64" if base64 else "binary"))
    if filename:
        fields.append(("Content-Disposition", mime.with_params("attachment", filename=filename)))
    return fields, mime.encode_base64(body) if base64 else body


def _smime(kind: str, name: str, der: bytes, base64: bool) -> Part:
    return _leaf(smime_type(kind, name), der, base64, name)


def smime_type(kind: str, name: str) -> str:
    return mime.with_params("application/pkcs7-mime", smime_type=kind, name=name)


def signed_multipart(entity: bytes, alg: SigningAlg, pair: KeyPair) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart/signed over the exact bytes of ``entity``."""
    signature = signature_part(cms.sign(entity, alg, pair))
    return mime.multipart("signed", [entity, signature], **signed_params(alg))


def signature_part(der: bytes) -> bytes:
    """The second part of a multipart/signed: the detached SignedData."""
    return mime.render(
        [
            ("Content-Type", mime.with_params("application/pkcs7-signature", name="smime.p7s")),
            ("Content-Transfer-Encoding", "base64"),
            ("Content-Disposition", mime.with_params("attachment", filename="smime.p7s")),
        ],
        mime.encode_base64(der),
    )


def signed_params(alg: SigningAlg) -> dict[str, str]:
    return {"protocol": "application/pkcs7-signature", "micalg": micalg_name(alg)}


def leaf_fields(content_type: str, base64: bool, filename: str | None) -> list[tuple[str, str]]:
    """The header fields of the document's own MIME entity."""
    return _leaf(content_type, b"", base64, filename)[0]


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
    """Compress, sign, compress, encrypt as the partnership says; headers for the POST."""
    check_sides(sender, receiver, content_type=content_type, subject=subject)
    b64 = receiver.encoding == TransferEncoding.BASE64
    part = _leaf(content_type, payload, b64, filename)
    if receiver.compression == Compression.BEFORE_SIGNING:
        part = _smime("compressed-data", "smime.p7z", cms.compress(mime.render(*part)), b64)
    mic = None
    # Each stage's input is dropped as soon as the next exists (``del``, ``part = ...``): a
    # large document would otherwise be held in every intermediate form at once.
    if receiver.signing is not None:
        assert sender.signing is not None
        entity = mime.render(*part)
        mic = mic_of(hashlib.new(receiver.signing.value, entity).digest())
        part = ([], b"")
        signed_type, signed_body = signed_multipart(entity, receiver.signing, sender.signing)
        del entity
        part = ([("Content-Type", signed_type)], signed_body)
        del signed_body
    if receiver.compression == Compression.AFTER_SIGNING:
        part = _smime("compressed-data", "smime.p7z", cms.compress(mime.render(*part)), b64)
    if receiver.encryption is not None:
        assert receiver.encrypt_cert is not None
        plain = mime.render(*part)
        part = ([], b"")
        der = cms.encrypt(plain, receiver.encryption, receiver.encrypt_cert)
        del plain
        part = _smime("enveloped-data", "smime.p7m", der, b64)
        del der
    mid, headers = post_headers(sender, receiver, message_id, subject, receipt_to)
    headers.update(part[0])
    expect = expected_mic(receiver, mic)
    return OutgoingMessage(
        message_id=mid,
        headers=headers,
        body=part[1],
        mic=expect,
        mic_alg=receiver.signing if expect else None,
    )


def check_sides(
    sender: LocalParty, receiver: RemoteParty, *, content_type: str, subject: str
) -> None:
    """ValueError when the partnership cannot be sent as configured."""
    if receiver.signing is not None and sender.signing is None:
        raise ValueError(f"signing for {receiver.as2_id} needs a key of {sender.as2_id} in service")
    if receiver.encryption is not None and receiver.encrypt_cert is None:
        raise ValueError(f"encrypting for {receiver.as2_id} needs its certificate")
    if receiver.mdn_mode == "async" and not receiver.async_mdn_url:
        raise ValueError(f"an async MDN from {receiver.as2_id} needs async_mdn_url")
    for name, value in (("content_type", content_type), ("subject", subject)):
        mime.check_header_value(name, value)


def post_headers(
    sender: LocalParty,
    receiver: RemoteParty,
    message_id: str | None,
    subject: str,
    receipt_to: str,
) -> tuple[str, dict[str, str]]:
    """(Message-ID, the AS2 headers of the POST without the body's Content-* fields)."""
    mid = f"<{message_id.strip().strip('<>')}>" if message_id else new_message_id()
    headers = {
        "AS2-Version": AS2_VERSION,
        "EDIINT-Features": EDIINT_FEATURES,
        "Message-ID": mime.check_header_value("message_id", mid),
        "AS2-From": quote_as2_name(sender.as2_id),
        "AS2-To": quote_as2_name(receiver.as2_id),
        "Subject": subject,
        "Date": formatdate(usegmt=True),
        "MIME-Version": "1.0",
    }
    if receiver.mdn_mode is not None:
        headers["Disposition-Notification-To"] = mime.check_header_value("receipt_to", receipt_to)
        if receiver.mdn_signing is not None:
            importance = "required" if receiver.mdn_signing_required else "optional"
            headers["Disposition-Notification-Options"] = (
                f"signed-receipt-protocol={importance}, pkcs7-signature; "
                f"signed-receipt-micalg={importance}, {micalg_name(receiver.mdn_signing)}"
            )
        if receiver.mdn_mode == "async":
            assert receiver.async_mdn_url is not None
            headers["Receipt-Delivery-Option"] = mime.check_header_value(
                "async_mdn_url", receiver.async_mdn_url
            )
    return mid, headers


def expected_mic(receiver: RemoteParty, mic: str | None) -> str | None:
    """The MIC is only worth expecting when the MDN that returns it is signed."""
    return mic if receiver.mdn_mode is not None and receiver.mdn_signing is not None else None
