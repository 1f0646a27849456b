"""Large documents leave outbound-svc streamed: read from the object store chunk by chunk,
signed over a digest, encrypted while posted with an exact Content-Length; read once (the
digest taken while posting), twice when compressed (a first reading counts the compressed
length). Partners we did not write (openssl, pyas2lib) must open them exactly as they open
in-memory messages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from as2bus.contracts import DocumentRef, SendOverrides
from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.send import send_document
from as2bus.shared.bus.documents import DocumentStore
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of

from .conftest import start_inbound, start_outbound, stop
from .test_outbound_loopback import loopback
from .test_outbound_partners import set_up

#: About 3 MB of CRLF text (openssl's S/MIME reader, used by the test partner, is text-safe
#: only), several object-store chunks, over the 64 KiB threshold set below.
LARGE = b"".join(
    b"ST*850*%07d~\r\nBEG*00*SA*PO%07d**20261202~\r\nSE*2*%07d~\r\n" % (i, i, i)
    for i in range(60_000)
)


@pytest.fixture
def streaming_outbound(nats_url: str, master_key: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = start_outbound(
        nats_url,
        master_key,
        tmp_path,
        AS2BUS_OUTBOUND_STREAM_BYTES=str(64 * 1024),
        AS2BUS_OUTBOUND_MAX_IN_MEMORY_BYTES=str(6 * 1024 * 1024),
    )
    yield proc
    stop(proc)


async def test_large_documents_are_streamed_to_openssl_and_pyas2lib(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    streaming_outbound: ServiceProcess,
    nats_url: str,
    partner_servers: list[Any],
) -> None:
    server = await set_up(config_svc, cert_svc)
    partner_servers.append(server)
    nc = await nats.connect(nats_url)
    try:
        for signing, encryption in (("sha256", "aes256-cbc"), ("sha1", "3des"), ("sha512", None)):
            overrides = SendOverrides(signing=signing, encryption=encryption)
            await send_document(nc, LARGE, station="MYCO", partner="openssl", overrides=overrides)
        await send_document(nc, LARGE, station="MYCO", partner="pyas2lib")
        await send_document(nc, LARGE, station="MYCO", partner="openssl_mdn")
        js = nc.jetstream()
        await events_of(js, "MessageSent", count=5, timeout=90)
        assert not await events_of(js, "MessageFailed", "MessageRetrying", count=0)
        assert server.opened.count(LARGE) == 5  # byte-identical at every partner
        reports = {
            e["data"]["partner"]: e["data"] for e in await events_of(js, "MdnReceived", count=2)
        }
        for partner in ("pyas2lib", "openssl_mdn"):
            report = reports[partner]
            assert (report["disposition"], report["signature_valid"]) == ("processed", True)
            assert report["mic_matches"] is True, partner  # the MIC of the streamed digest
        lengths = [h.get("content-length") for h in server.headers]
        assert all(length and length.isdigit() for length in lengths), lengths
        assert not [h for h in server.headers if "transfer-encoding" in h]
    finally:
        await nc.close()
    log = streaming_outbound.log()
    assert log.count("streaming <") == 5, log  # not the in-memory build
    assert log.count("bytes, one reading)") == 5, log  # signed and encrypted while posted
    assert "ERROR as2bus.outbound" not in log, log


@pytest.fixture
def spooling_inbound(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    proc = start_inbound(
        nats_url,
        master_key,
        tmp_path,
        AS2BUS_INBOUND_SPOOL_BYTES=str(64 * 1024),
        AS2BUS_INBOUND_MAX_BODY_BYTES=str(64 * 1024 * 1024),
    )
    yield proc
    stop(proc)


async def test_a_large_binary_document_streams_out_and_spools_in_through_the_gateway(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    spooling_inbound: ServiceProcess,
    streaming_outbound: ServiceProcess,
    nats_url: str,
) -> None:
    """Station A sends to B, whose URL is our own inbound-svc: both large-document paths,
    end to end, with arbitrary bytes (nothing here needs text); then a compressed one."""
    await loopback(config_svc, cert_svc, f"{spooling_inbound.base_url}/as2", "sync")
    document = os.urandom(5 * 1024 * 1024 + 3)
    nc = await nats.connect(nats_url)
    try:
        await send_document(nc, document, station="A", partner="B", filename="big.bin")
        js = nc.jetstream()
        report = (await events_of(js, "MdnReceived", timeout=60))[0]["data"]
        assert (report["disposition"], report["mic_matches"]) == ("processed", True)
        received = (await events_of(js, "MessageReceived"))[0]["data"]
        assert (received["filename"], received["signed"], received["encrypted"]) == (
            "big.bin",
            True,
            True,
        )
        store = DocumentStore(await documents_bucket(js), js)
        assert await store.get(DocumentRef(**received["document"])) == document
        # The message as sent (copied while streamed out) and as received (from inbound's
        # spool file) are kept, and they are the same bytes: the signed, encrypted body.
        sent = (await events_of(js, "MessageSent"))[0]["data"]
        as_sent = await store.get(DocumentRef(**sent["raw"]))
        as_received = await store.get(DocumentRef(**received["raw"]))
        head, _, body = as_sent.partition(b"\r\n\r\n")
        assert len(body) > len(document)  # encrypted, base64 nowhere: a bit larger
        assert as_received.partition(b"\r\n\r\n")[2] == body
        assert f"Message-ID: {sent['message_id']}".encode() in head
        assert received["signed_with"] == sent["signed_with"]  # the certificate that verified

        # Compressed: outbound-svc streams it too (compressing as it reads, twice: once for
        # the lengths and the MIC, once for the body); inbound-svc inflates from its file.
        # Every other layout here is read once, as posted.
        edi = LARGE
        compress = SendOverrides(compression="before-signing")
        await send_document(nc, edi, station="A", partner="B", overrides=compress)
        reports = await events_of(js, "MdnReceived", count=2, timeout=60)
        assert reports[1]["data"]["mic_matches"] is True
        second = (await events_of(js, "MessageReceived", count=2))[1]["data"]
        assert (second["compressed"], second["signed"], second["encrypted"]) == (True, True, True)
        assert await store.get(DocumentRef(**second["document"])) == edi

        # Base64 transfer encoding: streamed out (encoded as it goes), decoded from the file.
        await send_document(
            nc, document, station="A", partner="B", overrides=SendOverrides(encoding="base64")
        )
        assert (await events_of(js, "MdnReceived", count=3, timeout=60))[2]["data"]["mic_matches"]
        third = (await events_of(js, "MessageReceived", count=3))[2]["data"]
        assert await store.get(DocumentRef(**third["document"])) == document

        # Compressed after signing and over AS2BUS_OUTBOUND_MAX_IN_MEMORY_BYTES (6 MiB
        # here): no longer a reason to fail, it streams like the rest.
        after = SendOverrides(compression="after-signing")
        await send_document(nc, LARGE * 3, station="A", partner="B", overrides=after)
        assert (await events_of(js, "MdnReceived", count=4, timeout=60))[3]["data"]["mic_matches"]
        fourth = (await events_of(js, "MessageReceived", count=4))[3]["data"]
        assert await store.get(DocumentRef(**fourth["document"])) == LARGE * 3
    finally:
        await nc.close()
    log = streaming_outbound.log()
    assert log.count("streaming <") == 4
    assert (log.count("one reading)"), log.count("two readings)")) == (2, 2), log
    assert "in memory, about 6x" not in log
