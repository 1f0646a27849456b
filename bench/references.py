"""Reference figures measured in the same run, one core each: RSA-2048 private-key operations,
the plain pyas2lib exchange in one process (and its CPU when exchanges are spread out),
AES-256-CBC and SHA-256 throughput."""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from as2bus.as2 import KeyPair, LocalParty, RemoteParty
from as2bus.cert import x509
from as2bus.peers.pyas2lib_peer import pyas2, to_organization, to_partner
from bench.driver import document


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``work`` over about ``seconds`` (at least three calls)."""
    work()  # warm
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or count < 3:
        work()
        count += 1
    return count / elapsed


def rsa_ops(seconds: float) -> dict[str, float]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrapped = key.public_key().encrypt(os.urandom(32), padding.PKCS1v15())
    sign = rate(lambda: key.sign(b"x" * 32, padding.PKCS1v15(), hashes.SHA256()), seconds)
    decrypt = rate(lambda: key.decrypt(wrapped, padding.PKCS1v15()), seconds)
    # An exchange signs (sender), decrypts the content key (receiver), signs the MDN (receiver).
    per_exchange = 2 / sign + 1 / decrypt
    cores = os.cpu_count() or 1
    return {
        "sign_per_s": round(sign),
        "decrypt_per_s": round(decrypt),
        "ceiling_exchanges_per_s_one_core": round(1 / per_exchange),
        "ceiling_exchanges_per_s_machine": round(cores / per_exchange),
    }


def crypto_mb_s(seconds: float) -> dict[str, float]:
    """MB/s (MB = MiB, as everywhere in the bench) of the document-sized crypto."""
    chunk = os.urandom(1 << 20)
    key, iv = os.urandom(32), os.urandom(16)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    digest = hashlib.sha256()
    aes_enc = rate(lambda: encryptor.update(chunk), seconds)
    aes_dec = rate(lambda: decryptor.update(chunk), seconds)
    sha = rate(lambda: digest.update(chunk), seconds)
    # Each byte of a document is hashed twice (signed, verified), encrypted and decrypted once.
    pipeline = 1 / (1 / aes_enc + 1 / aes_dec + 2 / sha)
    return {
        "aes256cbc_encrypt_mb_s": round(aes_enc),
        "aes256cbc_decrypt_mb_s": round(aes_dec),
        "sha256_mb_s": round(sha),
        "exchange_crypto_ceiling_mb_s_one_core": round(pipeline),
    }


class PlainLibrary:
    """pyas2lib alone, in one process: build, parse (which builds the MDN), parse the MDN.
    Keys are loaded once (``to_organization`` caches them), as a long-running service would."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        a, b = (x509.generate_self_signed(n, now=now) for n in ("DEMO-A", "DEMO-B"))
        pair_a = KeyPair(a.key_pem.encode(), a.cert.cert_pem.encode())
        pair_b = KeyPair(b.key_pem.encode(), b.cert.cert_pem.encode())
        self.sender = to_organization(LocalParty("DEMO-A", pair_a, [pair_a]))
        self.receiver = to_organization(LocalParty("DEMO-B", pair_b, [pair_b]))
        self.to_b = to_partner(RemoteParty("DEMO-B", [pair_b.cert_pem], pair_b.cert_pem))
        self.from_a = to_partner(RemoteParty("DEMO-A", [pair_a.cert_pem], pair_a.cert_pem))

    def exchange(self, data: bytes) -> None:
        message = pyas2.Message(self.sender, self.to_b)
        message.build(data, filename="bench.edi", content_type="application/edi-x12")
        received = pyas2.Message()
        status, error, mdn = received.parse(
            message.headers_str + b"\r\n" + message.content,
            find_org_cb=lambda _id: self.receiver,
            find_partner_cb=lambda _id: self.from_a,
        )
        got = received.payload.get_payload(decode=True)
        # pyas2lib turns LF into CRLF in non-binary types (docs/architecture.md): allow that.
        if status != "processed" or got.replace(b"\r\n", b"\n") != data:
            raise RuntimeError(f"pyas2lib did not process its own message: {status} {error}")
        verdict, detail = pyas2.Mdn().parse(
            mdn.headers_str + b"\r\n" + mdn.content, find_message_cb=lambda _m, _r: message
        )
        if verdict != "processed":
            raise RuntimeError(f"pyas2lib did not accept its own MDN: {verdict} {detail}")


#: The pause between spread-out exchanges: about what each process on an exchange's path
#: idles between its steps at the bench's half load.
SPACED_SECONDS = 0.05


def cpu_ms_back_to_back_and_spaced(
    work: Callable[[], object], seconds: float
) -> tuple[float, float]:
    """This thread's CPU per call of ``work``, calls back to back and calls with a pause of
    ``SPACED_SECONDS`` before each, in alternating rounds (so both see the machine's same
    moments). The same code costs more after a pause (caches and predictors cold, on a VM a
    woken virtual CPU): the part of a spread-out exchange's extra CPU that is the machine's."""
    work()
    used = {0.0: 0.0, SPACED_SECONDS: 0.0}
    calls = {0.0: 0, SPACED_SECONDS: 0}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or min(calls.values()) < 6:
        for pause in used:
            for _ in range(3):
                if pause:
                    time.sleep(pause)
                start = time.thread_time()
                work()
                used[pause] += time.thread_time() - start
                calls[pause] += 1
    back_to_back, spaced = (1000 * used[p] / calls[p] for p in used)
    return back_to_back, spaced


def plain_library(sizes: list[int], seconds: float) -> dict[str, Any]:
    library = PlainLibrary()
    out: dict[str, Any] = {}
    for size in sizes:
        data = document(size, "plain")
        out[str(size)] = {
            "exchanges_per_s": round(rate(functools.partial(library.exchange, data), seconds), 2)
        }
    smallest = min(sizes)
    exchange = functools.partial(library.exchange, document(smallest, "plain"))
    back_to_back, spaced = cpu_ms_back_to_back_and_spaced(exchange, seconds)
    out[str(smallest)]["cpu_ms_back_to_back"] = round(back_to_back, 2)
    out[str(smallest)]["cpu_ms_spaced"] = round(spaced, 2)
    out[str(smallest)]["spaced_pause_ms"] = round(1000 * SPACED_SECONDS)
    return out


def measure(sizes: list[int], seconds: float) -> dict[str, Any]:
    return {
        "rsa2048": rsa_ops(seconds),
        "crypto": crypto_mb_s(seconds),
        "pyas2lib": plain_library(sizes, seconds),
    }
