"""The endpoint over its own HTTPS (real TLS, real sockets, in-process; the receive use case
on fakes): bodies with Content-Length, chunked, and after ``Expect: 100-continue``; the TLS
policy (1.2 at least, ECDHE and AEAD, no compression); IPv6."""

from __future__ import annotations

import asyncio
import socket
import ssl
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from as2bus.contracts import MessageReceived
from as2bus.testing.tls import PrivateCa

from .receiving import acme_sends, inbound, read_our_mdn
from .serving import client_context, server_tls, serving

CA = PrivateCa()


async def test_a_message_with_content_length_is_received_over_https(tmp_path: Path) -> None:
    sut = inbound()
    sent = acme_sends()
    async with (
        serving(sut, server_tls(CA, tmp_path)) as served,
        httpx.AsyncClient(verify=client_context(CA)) as http,
    ):
        response = await http.post(served.url, headers=sent.headers, content=sent.body)
    assert response.status_code == 200, response.text
    assert read_our_mdn(dict(response.headers), response.content).disposition == "processed"
    assert len(sut.bus.of_type(MessageReceived)) == 1


async def test_a_chunked_message_is_received_over_https(tmp_path: Path) -> None:
    sut = inbound()
    sent = acme_sends(message_id="<chunked@acme>")

    async def in_pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(sent.body), 1000):
            yield sent.body[start : start + 1000]

    headers = {k: v for k, v in sent.headers.items() if k.lower() != "content-length"}
    async with (
        serving(sut, server_tls(CA, tmp_path)) as served,
        httpx.AsyncClient(verify=client_context(CA)) as http,
    ):
        request = http.build_request("POST", served.url, headers=headers, content=in_pieces())
        assert request.headers["transfer-encoding"] == "chunked"
        response = await http.send(request)
    assert response.status_code == 200, response.text
    (received,) = sut.bus.of_type(MessageReceived)
    assert received.data.message_id == "<chunked@acme>"


async def test_expect_100_continue_is_answered_before_the_body_is_sent(tmp_path: Path) -> None:
    sut = inbound()
    sent = acme_sends(message_id="<continue@acme>")
    headers = {k: v for k, v in sent.headers.items() if k.lower() != "content-length"}
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    async with serving(sut, server_tls(CA, tmp_path)) as served:
        reader, writer = await asyncio.open_connection(
            served.host, served.port, ssl=client_context(CA), server_hostname=served.host
        )
        writer.write(
            f"POST /as2 HTTP/1.1\r\nHost: {served.host}\r\n{head}"
            f"Content-Length: {len(sent.body)}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        await writer.drain()
        # Nothing of the body sent yet: the server must say to go on.
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        writer.write(sent.body)
        await writer.drain()
        final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        writer.close()
    assert final.startswith(b"HTTP/1.1 200 "), final
    assert len(sut.bus.of_type(MessageReceived)) == 1


def _handshake(port: int, context: ssl.SSLContext) -> tuple[str | None, tuple[str, str, int]]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        cipher = tls.cipher()
        assert cipher is not None
        return tls.compression(), cipher


async def test_tls_1_2_negotiates_ecdhe_and_aead_without_compression(tmp_path: Path) -> None:
    client = client_context(CA)
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    async with serving(inbound(), server_tls(CA, tmp_path)) as served:
        compression, (name, version, _bits) = await asyncio.to_thread(
            _handshake, served.port, client
        )
    assert (version, compression) == ("TLSv1.2", None)
    assert name.startswith("ECDHE-"), name
    assert "GCM" in name or "CHACHA20" in name, name


#: Clients that offer only what the server must refuse (the client's own floor lowered, so
#: that it is the server that says no), and the alert they receive.
OUTDATED = pytest.mark.parametrize(
    ("version", "ciphers", "server_says", "client_sees"),
    [
        (ssl.TLSVersion.TLSv1_1, "DEFAULT:@SECLEVEL=0", "UNSUPPORTED_PROTOCOL",
         "TLSV1_ALERT_PROTOCOL_VERSION"),
        (ssl.TLSVersion.TLSv1_2, "AES128-SHA:AES256-GCM-SHA384:@SECLEVEL=0", "NO_SHARED_CIPHER",
         "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    ],
    ids=["tls-1.1", "tls-1.2-without-ecdhe"],
)  # fmt: skip


def outdated_client(version: ssl.TLSVersion, ciphers: str) -> ssl.SSLContext:
    client = client_context(CA)
    with warnings.catch_warnings():  # an outdated client on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        client.minimum_version = version
        client.maximum_version = version
    client.set_ciphers(ciphers)
    return client


@OUTDATED
async def test_old_protocols_and_ciphers_find_no_connection_and_are_told_why(
    tmp_path: Path, version: ssl.TLSVersion, ciphers: str, server_says: str, client_sees: str
) -> None:
    async with serving(inbound(), server_tls(CA, tmp_path)) as served:
        with pytest.raises(ssl.SSLError, match=client_sees):
            await asyncio.to_thread(_handshake, served.port, outdated_client(version, ciphers))


@OUTDATED
def test_the_server_context_refuses_old_protocols_and_ciphers_alert_first(
    tmp_path: Path, version: ssl.TLSVersion, ciphers: str, server_says: str, client_sees: str
) -> None:
    server = server_tls(CA, tmp_path).context
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    ours = server.wrap_bio(to_server, to_client, server_side=True)
    theirs = outdated_client(version, ciphers).wrap_bio(
        to_client, to_server, server_hostname="127.0.0.1"
    )
    with pytest.raises(ssl.SSLWantReadError):
        theirs.do_handshake()  # the ClientHello, into to_server
    with pytest.raises(ssl.SSLWantReadError):
        ours.do_handshake()  # refused: the alert into to_client, the error kept (handshake_watch)
    with pytest.raises(ssl.SSLError, match=client_sees):
        theirs.do_handshake()
    with pytest.raises(ssl.SSLError, match=server_says):
        ours.do_handshake()


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine cannot bind ::1")
async def test_the_endpoint_listens_and_answers_on_ipv6(tmp_path: Path) -> None:
    sut = inbound()
    sent = acme_sends(message_id="<ipv6@acme>")
    async with (
        serving(sut, server_tls(CA, tmp_path, host="::1"), host="::1") as served,
        httpx.AsyncClient(verify=client_context(CA)) as http,
    ):
        response = await http.post(served.url, headers=sent.headers, content=sent.body)
    assert served.url.startswith("https://[::1]:")
    assert response.status_code == 200, response.text
    assert len(sut.bus.of_type(MessageReceived)) == 1


async def test_a_stop_does_not_wait_for_a_client_idling_on_a_kept_alive_tls_connection(
    tmp_path: Path,
) -> None:
    """An HTTP client pool does not read a connection between requests, so it never answers
    the server's TLS close_notify: asyncio's close waited 30 s for it, and the graceful stop
    with it. An idle TLS connection is aborted at the stop instead."""
    sut = inbound()
    sent = acme_sends(message_id="<idle@acme>")
    clock = asyncio.get_running_loop().time
    async with httpx.AsyncClient(verify=client_context(CA)) as http:
        async with serving(sut, server_tls(CA, tmp_path)) as served:
            response = await http.post(served.url, headers=sent.headers, content=sent.body)
            assert response.status_code == 200
            started = clock()
        # The server has stopped; the client still holds the connection, idle, unread.
        stopped = clock() - started
    assert stopped < 3, f"the stop took {stopped:.1f} s"
