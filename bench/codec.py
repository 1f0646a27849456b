"""``python -m bench.codec``: the AS2 codec alone, on one core, next to what it is compared
against, measured in the same run (issue 20).

- A 1 KB exchange: build (signed, AES-256-CBC, a signed MDN asked for), parse, build the MDN,
  parse the MDN; exchanges per second beside pyas2lib doing the same in one process, and the
  share of the time that is RSA (the operations an exchange needs, timed on their own).
- Large documents: build with the document read in 1 MiB chunks (signed + AES-256-CBC, binary
  and base64 transfer encoding), in two readings (digest, then body: what compression needs)
  and in one (the plan made ahead: what outbound-svc does otherwise), and parse from a file;
  MB/s beside AES-256-CBC and SHA-256 alone, and how far the resident set grows while
  building, for two sizes (the same growth for both: memory does not grow with the document).

Every figure is printed with its reference; nothing here asserts a timing. A wrong result
(a MIC that does not match, a payload that differs) stops the run with exit code 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty
from as2bus.as2.algorithms import EncryptionAlg, SigningAlg, TransferEncoding
from as2bus.as2.streaming import Streamer
from as2bus.cert import x509
from bench import procfs, references
from bench.driver import document

MB = 1 << 20
RESULTS = Path(__file__).parent / "results"


class Parties:
    """Two stations, each with its key, and each as the other sees it."""

    def __init__(self, encoding: TransferEncoding = TransferEncoding.BINARY) -> None:
        now = datetime.now(UTC)
        a, b = (x509.generate_self_signed(n, now=now) for n in ("BENCH-A", "BENCH-B"))
        self.pair_a = KeyPair(a.key_pem.encode(), a.cert.cert_pem.encode())
        self.pair_b = KeyPair(b.key_pem.encode(), b.cert.cert_pem.encode())
        self.a = LocalParty("BENCH-A", self.pair_a, [self.pair_a])
        self.b = LocalParty("BENCH-B", self.pair_b, [self.pair_b])
        self.b_seen_by_a = RemoteParty(
            "BENCH-B",
            [self.pair_b.cert_pem],
            self.pair_b.cert_pem,
            signing=SigningAlg.SHA256,
            encryption=EncryptionAlg.AES256,
            encoding=encoding,
        )
        self.a_seen_by_b = RemoteParty("BENCH-A", [self.pair_a.cert_pem], self.pair_a.cert_pem)

    def lookup(self, _from: str, _to: str) -> tuple[LocalParty, RemoteParty]:
        return self.b, self.a_seen_by_b


def exchange(parties: Parties, data: bytes) -> None:
    """One whole exchange through the codec's public API, checked."""
    sent = as2.build_message(data, sender=parties.a, receiver=parties.b_seen_by_a, filename="b.x12")
    got = as2.parse_message(sent.headers, sent.body, lookup=parties.lookup)
    if got.payload != data:
        raise RuntimeError("the codec did not deliver what it built")
    mdn = as2.build_mdn(got, local=parties.b)
    report = as2.parse_mdn(mdn.headers, mdn.body, verify_certs=[parties.pair_b.cert_pem])
    if report.mic != sent.mic or report.disposition != "processed":
        raise RuntimeError(f"the MDN does not confirm the message: {report}")


def rsa_seconds_per_exchange(seconds: float) -> float:
    """What the RSA-2048 operations of one exchange cost alone: three private-key operations
    (sign the message, unwrap the content key, sign the MDN) and three public-key ones (wrap
    the content key, verify the message, verify the MDN)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public, digest = key.public_key(), b"x" * 32
    signature = key.sign(digest, padding.PKCS1v15(), hashes.SHA256())
    wrapped = public.encrypt(b"k" * 32, padding.PKCS1v15())
    rate = references.rate
    sign = rate(lambda: key.sign(digest, padding.PKCS1v15(), hashes.SHA256()), seconds)
    unwrap = rate(lambda: key.decrypt(wrapped, padding.PKCS1v15()), seconds)
    wrap = rate(lambda: public.encrypt(b"k" * 32, padding.PKCS1v15()), seconds)
    verify = rate(
        lambda: public.verify(signature, digest, padding.PKCS1v15(), hashes.SHA256()), seconds
    )
    return 2 / sign + 1 / unwrap + 1 / wrap + 2 / verify


def small(seconds: float) -> dict[str, Any]:
    parties, data = Parties(), document(1024, "codec")
    plain = references.PlainLibrary()  # keys loaded once, as ours are
    ours = references.rate(lambda: exchange(parties, data), seconds)
    theirs = references.rate(lambda: plain.exchange(data), seconds)
    rsa_share = rsa_seconds_per_exchange(seconds) * ours
    return {
        "as2bus_exchanges_per_s": round(ours, 1),
        "pyas2lib_exchanges_per_s": round(theirs, 1),
        "ratio": round(ours / theirs, 2),
        "rsa_share_of_as2bus_exchange": round(rsa_share, 2),
    }


def _chunks(size: int, block: bytes) -> Any:
    left = size
    while left > 0:
        piece = block[: min(left, len(block))]
        left -= len(piece)
        yield piece


def build_large(
    size: int, encoding: TransferEncoding, out: BinaryIO, *, readings: int
) -> dict[str, Any]:
    """Build a ``size``-byte document's message into ``out``, reading it once (the plan made
    ahead) or twice (a first reading to digest it); seconds and the document's SHA-256."""
    parties = Parties(encoding)
    block = os.urandom(MB)
    started = time.perf_counter()
    streamer = Streamer(size, sender=parties.a, receiver=parties.b_seen_by_a, filename="big.bin",
                        content_type="application/octet-stream")  # fmt: skip
    if readings == 1:
        plan = streamer.plan_ahead()
    else:
        for chunk in _chunks(size, block):
            streamer.digest(chunk)
        plan = streamer.plan()
    encoder = plan.encoder()
    out.write(encoder.head())
    for chunk in _chunks(size, block):
        for piece in encoder.pieces(chunk):
            out.write(piece)
    out.write(encoder.finish())
    elapsed = time.perf_counter() - started
    if out.tell() != plan.length:
        raise RuntimeError(f"built {out.tell()} bytes where the plan said {plan.length}")
    digest = hashlib.sha256()
    for chunk in _chunks(size, block):
        digest.update(chunk)
    return {"seconds": elapsed, "headers": plan.headers, "parties": parties,
            "sha256": digest.hexdigest()}  # fmt: skip


def parse_large(built: dict[str, Any], body: BinaryIO, size: int) -> float:
    parties: Parties = built["parties"]
    body.seek(0)
    started = time.perf_counter()
    got = as2.parse_spooled(built["headers"], body, lookup=parties.lookup,
                            max_payload_bytes=size + MB)  # fmt: skip
    elapsed = time.perf_counter() - started
    if got is None or got.payload_file is None:
        raise RuntimeError("the large message was not read from its file")
    spooled = got.payload_file
    spooled.file.seek(spooled.offset)
    digest, left = hashlib.sha256(), spooled.size
    while left > 0:
        chunk = spooled.file.read(min(MB, left))
        digest.update(chunk)
        left -= len(chunk)
    spooled.file.close()
    if digest.hexdigest() != built["sha256"] or spooled.size != size:
        raise RuntimeError("the large document did not come back byte for byte")
    return elapsed


def large(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for encoding in (TransferEncoding.BINARY, TransferEncoding.BASE64):
        for size in sizes:
            with tempfile.TemporaryFile() as twice, tempfile.TemporaryFile() as once:
                pid = os.getpid()
                base = procfs.memory(pid).get("VmRSS", 0)
                procfs.reset_peak(pid)
                built_twice = build_large(size, encoding, twice, readings=2)
                built_once = build_large(size, encoding, once, readings=1)
                peak = procfs.memory(pid).get("VmHWM", 0) - base
                parse_large(built_twice, twice, size)  # checked, not timed: the same layout
                parse_seconds = parse_large(built_once, once, size)
            rows.append({
                "encoding": encoding.value,
                "size_mb": size // MB,
                "build_mb_s": round(size / MB / built_twice["seconds"]),
                "build_one_reading_mb_s": round(size / MB / built_once["seconds"]),
                "parse_mb_s": round(size / MB / parse_seconds),
                "build_peak_rss_growth_mb": round(peak / MB, 1),
            })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.codec", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short runs, small documents")
    args = parser.parse_args(argv)
    seconds = 0.5 if args.quick else 3.0
    sizes = [16 * MB, 32 * MB] if args.quick else [128 * MB, 512 * MB]
    try:
        when = datetime.now(UTC).isoformat(timespec="seconds")
        result: dict[str, Any] = {
            "when": when,
            "small_1kb": small(seconds),
            "large": large(sizes),
            "references": references.crypto_mb_s(seconds),
        }
    except RuntimeError as err:
        print(f"codec benchmark failed: {err}", file=sys.stderr)
        return 1
    print(render(result))
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        name = f"codec-{when[:16].replace(':', '')}.json"
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def render(result: dict[str, Any]) -> str:
    s, ref = result["small_1kb"], result["references"]
    lines = [
        "1 KB exchange (build + parse + MDN build + MDN parse), one core:",
        f"  as2bus {s['as2bus_exchanges_per_s']}/s, pyas2lib {s['pyas2lib_exchanges_per_s']}/s "
        f"(x{s['ratio']}); RSA is {s['rsa_share_of_as2bus_exchange']:.0%} of an as2bus exchange",
        f"Large documents (AES-256-CBC encrypt {ref['aes256cbc_encrypt_mb_s']} MB/s, "
        f"SHA-256 {ref['sha256_mb_s']} MB/s on this machine):",
        "  | encoding | MB | build MB/s, two readings | build MB/s, one reading | parse MB/s "
        "| peak RSS growth while building |",
    ]
    lines += [
        f"  | {r['encoding']} | {r['size_mb']} | {r['build_mb_s']} | "
        f"{r['build_one_reading_mb_s']} | {r['parse_mb_s']} | "
        f"{r['build_peak_rss_growth_mb']} MB |"
        for r in result["large"]
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
