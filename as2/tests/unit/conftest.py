"""Keys, parties and an openssl peer for the codec tests (RSA 2048, self-signed, made once)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

#: X12 with CRLF segment ends, plus LF-only lines and a bare CR: line ends must survive as sent.
EDI = (
    b"ISA*00*          *00*          *ZZ*ALICE          *ZZ*BOB            ~\r\n"
    + b"GS*PO*ALICE*BOB*20260101*1200*1*X*004010~\r\nST*850*0001~\r\n" * 12
    + b"N1*ST*line feed only~\nN1*BT*carriage return only~\rSE*30*0001~\r\n"
)
#: What most EDI looks like: CRLF only (a text-mode S/MIME signer leaves it unchanged).
CRLF_EDI = b"ISA*00*          *00*~\r\nST*850*0001~\r\nSE*2*0001~\r\n" * 30


def make_pair(cn: str, bits: int = 2048) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.PEM),
    )


#: A party (or any dataclass) that ``replace`` copies.
Dataclass = TypeVar("Dataclass", bound="DataclassInstance")


def replace(party: Dataclass, **changes: Any) -> Dataclass:
    return dataclasses.replace(party, **changes)


class StreamerOptions(TypedDict, total=False):
    """What the tests pass on to ``Streamer`` by keyword, besides the parties."""

    filename: str
    content_type: str
    subject: str
    message_id: str


@pytest.fixture(scope="session")
def alice_keys() -> KeyPair:
    return make_pair("alice")


@pytest.fixture(scope="session")
def bob_keys() -> KeyPair:
    return make_pair("bob")


@pytest.fixture(scope="session")
def stranger_keys() -> KeyPair:
    return make_pair("stranger")


@pytest.fixture
def alice(alice_keys: KeyPair) -> LocalParty:
    """The sender's own side."""
    return LocalParty(as2_id="ALICE", signing=alice_keys, decryption=[alice_keys])


@pytest.fixture
def bob(bob_keys: KeyPair) -> LocalParty:
    """The receiver's own side."""
    return LocalParty(as2_id="BOB", signing=bob_keys, decryption=[bob_keys])


@pytest.fixture
def bob_as_seen_by_alice(bob_keys: KeyPair) -> RemoteParty:
    return RemoteParty(
        as2_id="BOB", verify_certs=[bob_keys.cert_pem], encrypt_cert=bob_keys.cert_pem
    )


@pytest.fixture
def alice_as_seen_by_bob(alice_keys: KeyPair) -> RemoteParty:
    return RemoteParty(
        as2_id="ALICE", verify_certs=[alice_keys.cert_pem], encrypt_cert=alice_keys.cert_pem
    )


def openssl(*args: object, stdin: bytes | None = None, ok: bool = True) -> bytes:
    """Run the openssl CLI; a missing openssl fails the test (FileNotFoundError)."""
    done = subprocess.run(
        ["openssl", *map(str, args)], input=stdin, capture_output=True, check=False
    )
    if ok:
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    elif done.returncode == 0:
        raise AssertionError(f"openssl {args[0]} {args[1]} succeeded")
    return done.stdout


class OpensslPeer:
    """openssl cms as a partner: ALICE's keys, writing to BOB (and reading what BOB sends)."""

    def __init__(self, tmp: Path, alice: KeyPair, bob: KeyPair, stranger: KeyPair) -> None:
        self.tmp = tmp
        for name, pair in (("alice", alice), ("bob", bob), ("stranger", stranger)):
            (tmp / f"{name}.key").write_bytes(pair.key_pem)
            (tmp / f"{name}.pem").write_bytes(pair.cert_pem)

    def path(self, name: str) -> Path:
        return self.tmp / name

    def write(self, name: str, data: bytes) -> Path:
        (self.tmp / name).write_bytes(data)
        return self.tmp / name

    @staticmethod
    def entity(payload: bytes = EDI, cte: str | None = "binary") -> bytes:
        head = "Content-Type: application/edi-x12\r\n"
        head += f"Content-Transfer-Encoding: {cte}\r\n" if cte else ""
        head += 'Content-Disposition: attachment; filename="po.x12"\r\n\r\n'
        return head.encode() + payload

    def sign(self, entity: bytes, md: str = "sha256", *extra: str, binary: bool = True) -> bytes:
        """multipart/signed (S/MIME output, CRLF). ``binary``: sign the bytes as they are;
        otherwise openssl signs canonical text, as the notes' recipe does."""
        mode = ["-binary"] if binary else ["-crlfeol"]
        return openssl(
            "cms",
            "-sign",
            "-in",
            self.write("entity.mime", entity),
            "-md",
            md,
            *mode,
            "-signer",
            self.path("alice.pem"),
            "-inkey",
            self.path("alice.key"),
            *extra,
        )

    def encrypt(self, content: bytes, cipher: str = "aes256", *recipients: str, **kw: str) -> bytes:
        """EnvelopedData as DER (or ``outform="SMIME"``), for ``recipients`` (default BOB);
        a recipient may be followed by its -keyopt options."""
        recips = recipients or ("bob",)
        args: list[object] = []
        for item in recips:
            args += ["-keyopt", item] if ":" in item else ["-recip", self.path(f"{item}.pem")]
        return openssl(
            "cms",
            "-encrypt",
            "-in",
            self.write("plain.mime", content),
            f"-{cipher}",
            "-binary",
            "-outform",
            kw.get("outform", "DER"),
            *args,
        )


@pytest.fixture
def peer(
    tmp_path: Path, alice_keys: KeyPair, bob_keys: KeyPair, stranger_keys: KeyPair
) -> OpensslPeer:
    return OpensslPeer(tmp_path, alice_keys, bob_keys, stranger_keys)


def as2_headers(content_type: str, cte: str = "binary", **extra: str) -> dict[str, str]:
    """What a partner POSTs to BOB: the AS2 headers, a signed sync MDN asked for."""
    return {
        "AS2-Version": "1.2",
        "AS2-From": "ALICE",
        "AS2-To": "BOB",
        "Message-ID": "<openssl-1@alice>",
        "Content-Type": content_type,
        "Content-Transfer-Encoding": cte,
        "Disposition-Notification-To": "alice@example.com",
        "Disposition-Notification-Options": (
            "signed-receipt-protocol=optional, pkcs7-signature; "
            "signed-receipt-micalg=optional, sha-256"
        ),
        **extra,
    }


ENVELOPED = 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'


def smime_split(smime: bytes) -> tuple[dict[str, str], bytes]:
    """openssl's S/MIME output → (its MIME headers, body), to POST them as HTTP."""
    end = re.search(rb"\r?\n\r?\n", smime)
    assert end is not None
    head, body = smime[: end.start()], smime[end.end() :]
    headers: dict[str, str] = {}
    for line in head.decode().replace("\r\n", "\n").split("\n"):
        if line.startswith((" ", "\t")):
            last = next(reversed(headers))
            headers[last] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
    return headers, body


def receive(
    me: LocalParty, them: RemoteParty, headers: dict[str, str], body: bytes, **kw: Any
) -> as2.ReceivedMessage:
    return as2.parse_message(headers, body, lookup=lambda _f, _t: (me, them), **kw)


def recertified(
    pair: KeyPair, cn: str, *, valid: tuple[datetime, datetime] | None = None, ski: bool = False
) -> KeyPair:
    """The same key in a new self-signed certificate (no RSA key is generated): another
    validity period, or with a subjectKeyIdentifier extension (for ``openssl cms -keyid``)."""
    key = serialization.load_pem_private_key(pair.key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    now = datetime.now(UTC)
    start, end = valid or (now - timedelta(days=1), now + timedelta(days=365))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
    )  # fmt: skip
    if ski:
        identifier = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        builder = builder.add_extension(identifier, critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return KeyPair(pair.key_pem, cert.public_bytes(serialization.Encoding.PEM))


#: When ``alice_expired_keys``' certificate ended.
EXPIRED_ON = datetime(2021, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def alice_expired_keys(alice_keys: KeyPair) -> KeyPair:
    """ALICE's key in a certificate valid during 2020 only."""
    return recertified(alice_keys, "alice", valid=(datetime(2020, 1, 1, tzinfo=UTC), EXPIRED_ON))


@pytest.fixture(scope="session")
def alice_keyid_keys(alice_keys: KeyPair) -> KeyPair:
    return recertified(alice_keys, "alice", ski=True)


@pytest.fixture(scope="session")
def bob_keyid_keys(bob_keys: KeyPair) -> KeyPair:
    return recertified(bob_keys, "bob", ski=True)


@pytest.fixture(scope="session")
def stranger_keyid_keys(stranger_keys: KeyPair) -> KeyPair:
    return recertified(stranger_keys, "stranger", ski=True)
