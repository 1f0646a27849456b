"""The AS2 endpoint of a real inbound-svc against clients that misbehave: malformed MDNs, MDNs
too large, headers and bodies that never end; and the one Date header of its answers.

Raw sockets where the HTTP itself is the point (httpx would finish what the test leaves
undone). The service runs with small limits and timeouts so that each case takes a second.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from as2bus import as2
from as2bus.as2.algorithms import SigningAlg
from as2bus.cert import x509
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import until

from .conftest import partnership_with_keys, start_inbound, stop
from .test_inbound_pyas2lib_partner import post, pyas2lib_sender

HEADER_TIMEOUT = 1.0
# 3 s, not 1: the chunked-MDN tests send without pause, but on a loaded CI machine the test
# process was once starved for over a second and the server rightly gave up on the body.
BODY_TIMEOUT = 3.0
MAX_MDN = 8 * 1024
#: A whole (small) body's time: more than BODY_TIMEOUT, so a trickle that never pauses that
#: long meets it.
BODY_DEADLINE = 5.0
MARGIN = 2.0  # for a loaded machine: still far below what the defaults allow


@pytest.fixture
def inbound(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    spool = tmp_path / "spool"
    spool.mkdir()
    proc = start_inbound(
        nats_url,
        master_key,
        tmp_path,
        TMPDIR=str(spool),
        AS2BUS_INBOUND_SPOOL_BYTES="1024",  # what a test sends goes to a temporary file
        AS2BUS_INBOUND_MAX_MDN_BYTES=str(MAX_MDN),
        AS2BUS_INBOUND_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        AS2BUS_INBOUND_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        AS2BUS_INBOUND_BODY_DEADLINE_SECONDS=str(BODY_DEADLINE),
    )
    yield proc
    stop(proc)


def acme_headers(content_type: str, **extra: str) -> dict[str, str]:
    return {
        "AS2-From": "acme",
        "AS2-To": "MYCO",
        "Message-ID": "<mdn-1@acme>",
        "Content-Type": content_type,
        **extra,
    }


def acme_mdn(acme: x509.OwnKey, *, signed: bool, text: str | None = None) -> as2.OutgoingMdn:
    """acme's MDN for a message of ours, as our codec writes MDNs."""
    keys = as2.KeyPair(acme.key_pem.encode(), acme.cert.cert_pem.encode())
    signing = SigningAlg.SHA256 if signed else None
    request = as2.RequestSummary(
        message_id="<ours-1@myco.as2bus>",
        as2_from="MYCO",
        as2_to="acme",
        mdn=as2.MdnRequest("async", "x", "http://us/as2", signing),
    )
    return as2.build_mdn(request, local=as2.LocalParty("acme", keys), text=text)


def boundary_of(content_type: str) -> str:
    found = re.search(r'boundary="?([^";]+)', content_type)
    assert found is not None
    return found.group(1)


def malformed_mdns(acme: x509.OwnKey) -> dict[str, tuple[dict[str, str], bytes]]:
    plain, signed = acme_mdn(acme, signed=False), acme_mdn(acme, signed=True)
    report_type = plain.headers["Content-Type"]
    delimiter = b"--" + boundary_of(report_type).encode()
    text_part = plain.body.split(delimiter)[1]
    signed_type = signed.headers["Content-Type"]
    outer = b"--" + boundary_of(signed_type).encode()
    signed_first, signature = signed.body.split(outer)[1:3]
    head, _, _ = signature.partition(b"\r\n\r\n")
    return {
        "empty": (acme_headers("multipart/report; boundary=x"), b""),
        "empty, no boundary": (acme_headers("multipart/report"), b""),
        "garbage": (acme_headers("multipart/report; boundary=x"), os.urandom(3000)),
        "missing boundary": (
            acme_headers("multipart/report; report-type=disposition-notification"),
            plain.body,
        ),
        "wrong boundary": (acme_headers("multipart/report; boundary=nope"), plain.body),
        "truncated": (acme_headers(report_type), plain.body[: len(plain.body) // 2]),
        "no disposition part": (
            acme_headers(report_type),
            delimiter + text_part + delimiter + b"--\r\n",
        ),
        "invalid base64": (
            acme_headers(report_type, **{"Content-Transfer-Encoding": "base64"}),
            b"!!!! not base64 ****",
        ),
        "signed, signature part garbage": (
            acme_headers(signed_type),
            outer + signed_first + outer + head + b"\r\n\r\n"
            + base64.encodebytes(os.urandom(300)) + b"\r\n" + outer + b"--\r\n",
        ),
        "signed, signature part not base64": (
            acme_headers(signed_type),
            outer + signed_first + outer + head + b"\r\n\r\n@@@@\r\n" + outer + b"--\r\n",
        ),
        "signed, no signature part": (
            acme_headers(signed_type),
            outer + signed_first + outer + b"--\r\n",
        ),
        "signed, truncated": (acme_headers(signed_type), signed.body[: len(signed.body) - 300]),
        "opaque signed-data garbage": (
            acme_headers("application/pkcs7-mime; smime-type=signed-data"),
            b"\x30\x82\x01\x00" + os.urandom(200),
        ),
    }  # fmt: skip


async def test_malformed_mdns_get_a_4xx_with_a_reason_never_a_500(
    config_svc: ServiceProcess, cert_svc: ServiceProcess, inbound: ServiceProcess
) -> None:
    _, acme = await partnership_with_keys(config_svc, cert_svc)
    # The partner is known to inbound's replica once a well-formed MDN is accepted.
    good = acme_mdn(acme, signed=True)
    assert (await post(inbound, good.headers, good.body)).status_code == 200
    answers = {}
    async with httpx.AsyncClient(base_url=inbound.base_url, timeout=10) as http:
        for name, (headers, body) in malformed_mdns(acme).items():
            try:
                response = await http.post("/as2", headers=headers, content=body)
            except httpx.TransportError as err:  # the connection dropped: no answer at all
                answers[name] = (0, repr(err))
                continue
            answers[name] = (response.status_code, response.text.strip())
    wrong = {n: a for n, a in answers.items() if not 400 <= a[0] < 500 or len(a[1]) < 10}
    assert wrong == {}
    assert "Traceback" not in inbound.log()
    assert "Exception in ASGI application" not in inbound.log()


async def test_every_answer_has_one_date_header(
    config_svc: ServiceProcess, cert_svc: ServiceProcess, inbound: ServiceProcess
) -> None:
    ours, acme = await partnership_with_keys(config_svc, cert_svc)
    message = pyas2lib_sender(ours, acme, "SYNC", None)
    sync_mdn = await post(inbound, message.headers, message.content)
    assert b"Disposition: automatic-action/MDN-sent-automatically; processed" in sync_mdn.content
    refused = await post(inbound, {"Content-Type": "text/plain"}, b"hello")
    assert refused.status_code == 400
    async with httpx.AsyncClient(base_url=inbound.base_url) as http:
        health = await http.get("/healthz")
    for response in (sync_mdn, refused, health):
        assert len(response.headers.get_list("date")) == 1, response.headers.raw


# --- raw HTTP ------------------------------------------------------------------------------


class Raw:
    """One TCP connection to the service, written and read by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, proc: ServiceProcess) -> Raw:
        return cls(*await asyncio.open_connection("127.0.0.1", proc.port))

    async def send(self, data: bytes) -> bool:
        """False once the server has closed the connection."""
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError):
            return False
        return True

    async def answer(self, timeout: float) -> bytes:
        """Everything the server writes until it closes the connection."""
        try:
            return await asyncio.wait_for(self.reader.read(-1), timeout)
        except ConnectionError:
            return b""

    def close(self) -> None:
        self.writer.close()


def request_head(content_type: str, **fields: str) -> bytes:
    lines = ["POST /as2 HTTP/1.1", "Host: test", f"Content-Type: {content_type}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def open_spool_files(proc: ServiceProcess, spool: Path) -> list[str]:
    """The temporary files (in the service's TMPDIR) the process still holds open."""
    pid = proc._proc.pid  # type: ignore[union-attr]
    held = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(spool)):
            held.append(target)
    return held


def claims(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "inbound.db") as db:
        return int(db.execute("SELECT count(*) FROM received_messages").fetchone()[0])


async def test_headers_trickled_byte_by_byte_are_cut_off(inbound: ServiceProcess) -> None:
    raw = await Raw.open(inbound)
    started = time.monotonic()
    await raw.send(b"POST /as2 HTTP/1.1\r\nHost: test\r\n")
    answer = b""
    while time.monotonic() - started < HEADER_TIMEOUT + 10:
        if not await raw.send(b"X"):
            break
        try:
            answer = await asyncio.wait_for(raw.reader.read(-1), 0.3)
            break  # the server closed the connection
        except TimeoutError:
            continue
        except ConnectionError:
            break
    elapsed = time.monotonic() - started
    raw.close()
    assert elapsed < HEADER_TIMEOUT + MARGIN, elapsed
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert "request headers" in inbound.log()


@pytest.mark.parametrize("case", ["stalled", "shorter than its Content-Length"])
async def test_a_body_that_stops_coming_is_answered_408_and_nothing_remains(
    case: str, inbound: ServiceProcess, tmp_path: Path
) -> None:
    sent = os.urandom(3000)  # more than the spool threshold: a temporary file holds it
    declared = len(sent) + (10_000 if case == "stalled" else 1)
    head = request_head(
        "application/pkcs7-mime; smime-type=enveloped-data",
        AS2_From="acme", AS2_To="MYCO", Message_ID="<slow-1@acme>",
        Content_Length=str(declared),
    )  # fmt: skip
    raw = await Raw.open(inbound)
    await raw.send(head + sent[:1500])
    await asyncio.sleep(0.3)  # a slow client pausing mid-body: simulated, not a wait
    await raw.send(sent[1500:])
    last_byte = time.monotonic()
    # Spooled to a file while it comes (the server gives up BODY_TIMEOUT after the last byte).
    await until(
        lambda: open_spool_files(inbound, tmp_path / "spool"),
        what="the body spooled to a file",
        timeout=BODY_TIMEOUT,
    )
    answer = await raw.answer(BODY_TIMEOUT + MARGIN + 1)
    elapsed = time.monotonic() - last_byte
    raw.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in answer.lower()
    assert elapsed < BODY_TIMEOUT + MARGIN, elapsed
    assert open_spool_files(inbound, tmp_path / "spool") == []
    assert claims(tmp_path) == 0
    assert "Traceback" not in inbound.log()


async def test_a_body_trickled_a_byte_at_a_time_meets_its_deadline(
    inbound: ServiceProcess, tmp_path: Path
) -> None:
    """A byte a second never pauses BODY_TIMEOUT long; the body's deadline (BODY_DEADLINE, plus
    10 s per MiB: nothing for 1,000 bytes) ends it, where the reviewer's trickle of a byte
    every 25 s held a connection for hours (security review rv3, defect 8)."""
    head = request_head(
        "application/pkcs7-mime; smime-type=enveloped-data",
        AS2_From="acme", AS2_To="MYCO", Message_ID="<trickle-1@acme>", Content_Length="1000",
    )  # fmt: skip
    raw = await Raw.open(inbound)
    await raw.send(head)
    started = time.monotonic()
    answer = b""
    while time.monotonic() - started < BODY_DEADLINE + 10:
        if not await raw.send(b"x"):  # closed: what it answered is still to be read
            answer = await raw.answer(MARGIN)
            break
        try:
            answer = await asyncio.wait_for(raw.reader.read(-1), 1.0)
            break  # the server answered and closed the connection
        except TimeoutError:
            continue
        except ConnectionError:
            break
    elapsed = time.monotonic() - started
    raw.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in answer.lower()
    assert b"the request body was not complete within 5 s" in answer
    assert b"it comes too slowly" in answer
    assert BODY_DEADLINE - 0.5 < elapsed < BODY_DEADLINE + MARGIN, elapsed
    assert claims(tmp_path) == 0


async def test_an_mdn_over_its_limit_is_refused_before_it_is_read(inbound: ServiceProcess) -> None:
    """Content-Length says too much: 413 at once, no byte of the body sent."""
    raw = await Raw.open(inbound)
    declared = 512 * 1024  # under the body limit (1 MiB here), far over the MDN limit
    await raw.send(request_head("multipart/report; boundary=x", Content_Length=str(declared)))
    answer = await raw.answer(5)
    raw.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert f"at most {MAX_MDN} bytes".encode() in answer


async def test_a_client_still_sending_a_refused_body_reads_the_reason(
    inbound: ServiceProcess,
) -> None:
    """A partner's client that writes its whole body before it reads (most do) gets the 413 and
    its reason. The server answers at the head and closes; closed with the client's bytes unread,
    its kernel reset the connection and the client saw "connection reset", the answer lost
    (RFC 9112 9.6). It now stops writing, and reads and drops the rest a while first."""
    raw = await Raw.open(inbound)
    declared = 1024 * 1024  # the body limit here, far over the MDN limit
    await raw.send(request_head("multipart/report; boundary=x", Content_Length=str(declared)))
    sent = 0
    while sent < declared:  # a slow uplink: the body goes out after the answer came back
        if not await raw.send(b"y" * 65536):
            break
        sent += 65536
        await asyncio.sleep(0.05)  # 1 MiB in 0.8 s, within the server's 2 s of dropping
    answer = await raw.answer(5)
    raw.close()
    assert sent == declared  # nothing refused the bytes: the server read them and let go
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b"connection: close" in answer.lower()
    assert f"at most {MAX_MDN} bytes".encode() in answer.partition(b"\r\n\r\n")[2], answer


@pytest.mark.parametrize("signed", [False, True])
async def test_a_chunked_mdn_is_cut_off_at_its_limit(
    signed: bool,
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound: ServiceProcess,
) -> None:
    """No Content-Length: the body is read up to the limit only, the answer comes while the
    client is still sending (it would never come if the service waited for the end). Signed,
    the MDN is recognised by its start (a multipart/signed may also be a message)."""
    _, acme = await partnership_with_keys(config_svc, cert_svc)
    mdn = acme_mdn(acme, signed=signed, text="x" * (4 * MAX_MDN))
    head = request_head(mdn.headers["Content-Type"], Transfer_Encoding="chunked")
    raw = await Raw.open(inbound)
    await raw.send(head)
    body = mdn.body + b"y" * (64 << 20)  # never all sent: the test stops at the answer
    answer, at = b"", 0
    while at < len(body) and not answer:
        chunk = body[at : at + 4096]
        if not await raw.send(b"%x\r\n%s\r\n" % (len(chunk), chunk)):
            break
        at += len(chunk)
        with contextlib.suppress(TimeoutError):
            answer = await asyncio.wait_for(raw.reader.read(4096), 0.001)
    answer += await raw.answer(5)
    raw.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    # Whole, reason included, though chunks were still coming: the server drops them before it
    # closes (a reset used to cut the answer short; CI saw the head without its text).
    assert f"at most {MAX_MDN} bytes".encode() in answer.partition(b"\r\n\r\n")[2], answer
    assert at < 4 << 20  # the answer came long before 64 MiB went out
