"""What we write, read by openssl (and by our own parser): every hash and signature scheme we
sign with, every cipher and key transport we encrypt with, compression before and after
signing, signed MDNs. openssl checks the bytes; the structures are checked against the RFCs
(RFC 4056 PSS parameters, RFC 4055 OAEP parameters, RFC 5084 GCM parameters)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import subprocess
import zlib
from datetime import UTC, datetime, timedelta, tzinfo

import pytest
from asn1crypto import algos
from asn1crypto import cms as asn1_cms

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty, cms_write, mime
from as2bus.as2.algorithms import (
    Compression,
    EncryptionAlg,
    KeyTransport,
    SignatureScheme,
    SigningAlg,
    TransferEncoding,
)
from as2bus.as2.streaming import Streamer

from .conftest import EDI, OpensslPeer, openssl, replace

#: Line ends of every kind and arbitrary bytes, and enough to compress.
PAYLOAD = EDI * 5 + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
MESSAGE_ID = "po-1@alice"
LEAF = (
    b"Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\n"
    b'Content-Disposition: attachment; filename="po.x12"\r\n'
    b"Content-ID: <document.po-1@alice>\r\n\r\n" + PAYLOAD
)
DIGEST_SIZES = {alg: hashlib.new(alg.value).digest_size for alg in SigningAlg}
CAPABILITIES = [
    "2.16.840.1.101.3.4.1.46",  # AES-256-GCM
    "2.16.840.1.101.3.4.1.6",  # AES-128-GCM
    "2.16.840.1.101.3.4.1.42",  # AES-256-CBC
    "2.16.840.1.101.3.4.1.22",  # AES-192-CBC
    "2.16.840.1.101.3.4.1.2",  # AES-128-CBC
    "1.2.840.113549.3.7",  # 3DES
]
GCM = {EncryptionAlg.AES128_GCM, EncryptionAlg.AES256_GCM}


def entity_of(headers: dict[str, str], body: bytes) -> bytes:
    """The message as a MIME entity, as openssl reads S/MIME: its Content-* headers, body."""
    fields = [(k, v) for k, v in headers.items() if k.lower().startswith("content-")]
    return mime.render([f for f in fields if f[0] != "Content-Length"], body)


def build(
    alice: LocalParty, receiver: RemoteParty, *, chunk: int | None = None
) -> tuple[dict[str, str], bytes, str | None]:
    """(headers, body, expected MIC): ``build_message``, or ``Streamer`` in ``chunk`` pieces."""
    if chunk is None:
        sent = as2.build_message(
            PAYLOAD, sender=alice, receiver=receiver, filename="po.x12", message_id=MESSAGE_ID
        )
        return sent.headers, sent.body, sent.mic
    streamer = Streamer(
        len(PAYLOAD), sender=alice, receiver=receiver, filename="po.x12", message_id=MESSAGE_ID
    )
    pieces = [PAYLOAD[i : i + chunk] for i in range(0, len(PAYLOAD), chunk)]
    for piece in pieces:
        streamer.digest(piece)
    plan = streamer.plan()
    encoder = plan.encoder()
    body = encoder.head() + b"".join(encoder.update(p) for p in pieces) + encoder.finish()
    assert len(body) == plan.length
    return plan.headers, body, plan.mic


def parse_back(
    bob: LocalParty, alice_as_seen_by_bob: RemoteParty, headers: dict[str, str], body: bytes
) -> as2.ReceivedMessage:
    them = replace(alice_as_seen_by_bob, require_signed=False, require_encrypted=False)
    got = as2.parse_message(headers, body, lookup=lambda _f, _t: (bob, them))
    assert (got.payload, got.filename) == (PAYLOAD, "po.x12")
    return got


def signature_of(signed: bytes) -> tuple[bytes, bytes]:
    """(the signed content, the SignedData's DER) of a multipart/signed entity, split by hand
    (not with the splitter under test)."""
    head, _, body = signed.partition(b"\r\n\r\n")
    boundary = re.search(rb'boundary="?([^";\r\n]+)', head)
    assert boundary is not None
    parts = body.split(b"\r\n--" + boundary.group(1))
    assert parts[0].startswith(b"--" + boundary.group(1) + b"\r\n")
    assert parts[2] == b"--\r\n"
    content = parts[0].split(b"\r\n", 1)[1]
    signature = base64.b64decode(parts[1].split(b"\r\n\r\n", 1)[1])
    return content, signature


def openssl_verify(peer: OpensslPeer, signed: bytes, *, ok: bool = True) -> bytes:
    """The content of a multipart/signed entity, verified by openssl as the exact bytes (its
    own S/MIME reader would rewrite line ends), with the certificate the signature carries."""
    content, signature = signature_of(signed)
    args: list[object] = ["-verify", "-binary", "-noverify", "-inform", "DER"]
    args += ["-in", peer.write("sig.der", signature), "-content", peer.write("c.bin", content)]
    return openssl("cms", *args, ok=ok)


def openssl_decrypt(peer: OpensslPeer, der: bytes, *, ok: bool = True) -> bytes:
    path = peer.write("enveloped.p7m", der)
    key, cert = peer.path("bob.key"), peer.path("bob.pem")
    args = ["-decrypt", "-binary", "-inform", "DER", "-in", path, "-inkey", key, "-recip", cert]
    return openssl("cms", *args, ok=ok)


def openssl_uncompress(peer: OpensslPeer, der: bytes) -> bytes:
    """``openssl cms -uncompress``; an openssl built without zlib (as on this machine) says
    "unsupported compression algorithm": then openssl parses our (BER) CompressedData and
    writes it again as DER, and zlib inflates the content openssl found there."""
    path = peer.write("compressed.p7z", der)
    args = ["openssl", "cms", "-uncompress", "-binary", "-inform", "DER", "-in", str(path)]
    done = subprocess.run(args, capture_output=True, check=False)
    if done.returncode == 0:
        return done.stdout
    assert b"unsupported compression algorithm" in done.stderr, done.stderr
    again = openssl("cms", "-cmsout", "-inform", "DER", "-outform", "DER", "-in", path)
    info = asn1_cms.ContentInfo.load(again)
    assert info["content_type"].native == "compressed_data"
    algorithm = info["content"]["compression_algorithm"]["algorithm"]
    assert algorithm.dotted == "1.2.840.113549.1.9.16.3.8"  # zlib (RFC 3274)
    return zlib.decompress(info["content"]["encap_content_info"]["content"].native)


def check_signed_data(der: bytes, content: bytes, alg: SigningAlg, scheme: SignatureScheme) -> None:
    """DER, with the algorithms, attributes and parameters we announce."""
    info = asn1_cms.ContentInfo.load(der)
    assert info.dump(force=True) == der  # DER as asn1crypto writes it: no stray encoding
    signed = info["content"]
    assert signed["encap_content_info"]["content"].native is None  # detached
    assert len(signed["certificates"]) == 1
    (signer,) = signed["signer_infos"]
    assert signer["digest_algorithm"]["algorithm"].native == alg.value
    attrs = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}
    assert set(attrs) == {"content_type", "signing_time", "message_digest", "smime_capabilities"}
    assert attrs["content_type"].native == "data"
    assert attrs["message_digest"].native == hashlib.new(alg.value, content).digest()
    assert abs(attrs["signing_time"].native - datetime.now(UTC)) < timedelta(minutes=2)
    assert [c["capability_id"].dotted for c in attrs["smime_capabilities"]] == CAPABILITIES
    signature_alg = signer["signature_algorithm"]
    if scheme == SignatureScheme.PKCS1V15:
        assert signature_alg["algorithm"].native == "rsassa_pkcs1v15"
        return
    assert signature_alg["algorithm"].native == "rsassa_pss"
    assert signature_alg["parameters"].native == {
        "hash_algorithm": {"algorithm": alg.value, "parameters": None},
        "mask_gen_algorithm": {
            "algorithm": "mgf1",
            "parameters": {"algorithm": alg.value, "parameters": None},
        },
        "salt_length": DIGEST_SIZES[alg],
        "trailer_field": "trailer_field_bc",
    }


@pytest.mark.parametrize(("alg", "scheme"), list(itertools.product(SigningAlg, SignatureScheme)))
def test_openssl_verifies_what_we_sign(
    peer: OpensslPeer,
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    alg: SigningAlg,
    scheme: SignatureScheme,
) -> None:
    receiver = replace(bob_as_seen_by_alice, signing=alg, signature_scheme=scheme, encryption=None)
    headers, body, mic = build(alice, receiver)
    signed = entity_of(headers, body)
    assert openssl_verify(peer, signed) == LEAF
    content, der = signature_of(signed)
    assert content == LEAF
    check_signed_data(der, content, alg, scheme)
    openssl_verify(peer, signed.replace(b"ST*850", b"ST*860", 1), ok=False)  # canary
    got = parse_back(bob, alice_as_seen_by_bob, headers, body)
    assert got.signed
    assert (got.mic, got.mic_alg) == (mic, alg) == (as2.compute_mic(LEAF, alg), alg)


def test_the_same_document_twice_in_one_second_is_signed_into_different_bytes(
    monkeypatch: pytest.MonkeyPatch,
    peer: OpensslPeer,
    alice: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
) -> None:
    """PKCS#1 v1.5 is deterministic and the signing time counts seconds: without something of
    its own in the signed entity, a document sent again within the second was signed into
    the same bytes, and replay protection (a partner's, ours) held it back as a replay."""
    second = datetime(2026, 12, 6, 3, 0, 0, tzinfo=UTC)

    class OneSecond(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> OneSecond:
            return cls.fromtimestamp(second.timestamp(), tz)

    monkeypatch.setattr(cms_write, "datetime", OneSecond)
    receiver = replace(bob_as_seen_by_alice, signing=SigningAlg.SHA256, encryption=None)

    def signed(message_id: str) -> tuple[bytes, bytes, str | None]:
        sent = as2.build_message(PAYLOAD, sender=alice, receiver=receiver, message_id=message_id)
        content, der = signature_of(entity_of(sent.headers, sent.body))
        assert openssl_verify(peer, entity_of(sent.headers, sent.body)) == content
        return content, der, sent.mic

    first, again, other = signed("a@alice"), signed("a@alice"), signed("b@alice")
    assert first[1] != other[1]  # the signature
    assert first[2] != other[2]  # the MIC
    assert b"Content-ID: <document.b@alice>\r\n" in other[0]
    assert first == again  # built again for a retry: the same entity, signature and MIC


def check_enveloped_data(der: bytes, cipher: EncryptionAlg, transport: KeyTransport) -> None:
    info = asn1_cms.ContentInfo.load(der)
    assert info.dump(force=True) == der
    gcm = cipher in GCM
    assert info["content_type"].native == (
        "authenticated_enveloped_data" if gcm else "enveloped_data"
    )
    envelope = info["content"]
    (recipient,) = envelope["recipient_infos"]
    key_alg = recipient.chosen["key_encryption_algorithm"]
    if transport == KeyTransport.RSA_PKCS1V15:
        assert key_alg["algorithm"].native == "rsaes_pkcs1v15"
    else:
        assert key_alg["algorithm"].native == "rsaes_oaep"
        sha256 = {"algorithm": "sha256", "parameters": None}
        assert key_alg["parameters"].native == {
            "hash_algorithm": sha256,
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": sha256},
            "p_source_algorithm": {"algorithm": "p_specified", "parameters": b""},
        }
        pspecified = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x09"  # 1.2.840.113549.1.1.9
        assert pspecified not in key_alg["parameters"].dump()  # pSourceFunc: DEFAULT, left out
    if not gcm:
        return
    content = envelope["auth_encrypted_content_info"]
    algorithm = content["content_encryption_algorithm"]
    assert algorithm["algorithm"].native == cipher.value.replace("-", "_")
    # GCMParameters is CCMParameters' twin (RFC 5084): aes-nonce, aes-ICVlen
    params = algos.CcmParams.load(algorithm["parameters"].dump()).native
    assert (len(params["aes_nonce"]), params["aes_icvlen"]) == (12, 16)
    assert len(envelope["mac"].native) == 16
    assert len(content["encrypted_content"].native) == len(LEAF)  # GCM: as long as the plain


ENCRYPTIONS = list(itertools.product(EncryptionAlg, KeyTransport))


@pytest.mark.parametrize("chunk", [None, 7], ids=["in-memory", "streamed"])
@pytest.mark.parametrize(("cipher", "transport"), ENCRYPTIONS)
def test_openssl_decrypts_what_we_encrypt(
    peer: OpensslPeer,
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    cipher: EncryptionAlg,
    transport: KeyTransport,
    chunk: int | None,
) -> None:
    receiver = replace(
        bob_as_seen_by_alice, signing=None, encryption=cipher, key_transport=transport
    )
    headers, body, _ = build(alice, receiver, chunk=chunk)
    assert openssl_decrypt(peer, body) == LEAF
    check_enveloped_data(body, cipher, transport)
    if cipher in GCM:  # the tag is checked: one changed bit of ciphertext and nothing comes out
        damaged = bytearray(body)
        damaged[-19] ^= 1  # the ciphertext's last byte, before the mac (04 10 + 16 bytes)
        openssl_decrypt(peer, bytes(damaged), ok=False)
    got = parse_back(bob, alice_as_seen_by_bob, headers, body)
    assert (got.encrypted, got.signed) == (True, False)


def open_layers(peer: OpensslPeer, entity: bytes) -> tuple[list[str], bytes]:
    """Take a message apart with openssl, outside in: (the layers met, the innermost entity)."""
    layers = []
    while True:
        parsed = mime.parse_entity(entity)
        kind = parsed.content_type
        if kind == "multipart/signed":
            layers.append("signed")
            entity = openssl_verify(peer, entity)
        elif kind == "application/pkcs7-mime" and parsed.param("smime-type") == "enveloped-data":
            layers.append("encrypted")
            entity = openssl_decrypt(peer, parsed.decoded())
        elif kind == "application/pkcs7-mime" and parsed.param("smime-type") == "compressed-data":
            layers.append("compressed")
            entity = openssl_uncompress(peer, parsed.decoded())
        else:
            return layers, entity


@pytest.mark.parametrize("encoding", list(TransferEncoding))
@pytest.mark.parametrize("encryption", [None, EncryptionAlg.AES256, EncryptionAlg.AES128_GCM])
@pytest.mark.parametrize("signing", [SigningAlg.SHA384, None])
@pytest.mark.parametrize("compression", [Compression.BEFORE_SIGNING, Compression.AFTER_SIGNING])
def test_openssl_takes_compressed_messages_apart(
    peer: OpensslPeer,
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    compression: Compression,
    signing: SigningAlg | None,
    encryption: EncryptionAlg | None,
    encoding: TransferEncoding,
) -> None:
    receiver = replace(
        bob_as_seen_by_alice,
        compression=compression,
        signing=signing,
        encryption=encryption,
        encoding=encoding,
        signature_scheme=SignatureScheme.PSS,
        key_transport=KeyTransport.RSA_OAEP_SHA256,
    )
    headers, body, mic = build(alice, receiver, chunk=1000)
    layers, leaf = open_layers(peer, entity_of(headers, body))
    inside = {
        Compression.BEFORE_SIGNING: ["signed", "compressed"],
        Compression.AFTER_SIGNING: ["compressed", "signed"],
    }[compression]
    expected = (["encrypted"] if encryption else []) + (inside if signing else ["compressed"])
    assert layers == expected
    if encoding == TransferEncoding.BASE64:
        assert b"Content-Transfer-Encoding: base64\r\n" in leaf
        head, document = leaf.split(b"\r\n\r\n", 1)
        leaf = head.replace(b"base64", b"binary") + b"\r\n\r\n" + base64.b64decode(document)
    assert leaf == LEAF
    got = parse_back(bob, alice_as_seen_by_bob, headers, body)
    assert got.compressed
    if signing:
        assert got.mic == mic


def test_compressed_data_is_ber_with_segments_openssl_reads(peer: OpensslPeer) -> None:
    content = bytes(range(256)) * 1000  # more than one segment of zlib data
    der = as2.cms.compress(content)
    assert der.startswith(b"\x30\x80")  # indefinite length: written before its length is known
    assert len(der) == cms_write.Compressor.length(len(zlib.compress(content)))
    assert openssl_uncompress(peer, der) == content


@pytest.mark.parametrize("scheme", list(SignatureScheme))
def test_openssl_verifies_our_signed_mdns(
    peer: OpensslPeer,
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    scheme: SignatureScheme,
) -> None:
    receiver = replace(bob_as_seen_by_alice, mdn_signing=SigningAlg.SHA512)
    headers, body, _ = build(alice, receiver)
    got = parse_back(bob, alice_as_seen_by_bob, headers, body)
    mdn = as2.build_mdn(got, local=bob, scheme=scheme)
    signed = entity_of(mdn.headers, mdn.body)
    # The MDN is signed by BOB: openssl checks it with the certificate inside.
    report = openssl_verify(peer, signed)
    assert report.startswith(b"Content-Type: multipart/report; ")
    content, der = signature_of(signed)
    assert content == report
    check_signed_data(der, content, SigningAlg.SHA512, scheme)
    assert bob.signing is not None
    read = as2.parse_mdn(mdn.headers, mdn.body, verify_certs=[bob.signing.cert_pem])
    assert (read.signed, read.signature_valid, read.mic) == (True, True, got.mic)


def test_mdns_are_signed_with_pkcs1v15_unless_told(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    headers, body, _ = build(alice, replace(bob_as_seen_by_alice, encryption=None))
    mdn = as2.build_mdn(parse_back(bob, alice_as_seen_by_bob, headers, body), local=bob)
    content, der = signature_of(entity_of(mdn.headers, mdn.body))
    check_signed_data(der, content, SigningAlg.SHA256, SignatureScheme.PKCS1V15)
