"""Why a partner could not be reached, in words (``partner_tls.errors.connection_failure``):
real connections, made with httpx as outbound-svc and inbound-svc make them, so that the
socket error httpx wraps is the one a partner's typo or outage really gives."""

from __future__ import annotations

import asyncio
import errno
import socket

import httpx
import pytest

from as2bus.contracts.config import PartnerTls
from as2bus.shared.partner_tls.errors import connection_failure


async def failure_of(url: str) -> str:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        with pytest.raises(httpx.TransportError) as raised:
            await client.post(url, content=b"AS2")
    failure = connection_failure(PartnerTls(), url, raised.value, None)
    assert failure.retryable  # a partner that is down, or a URL to correct, may come back
    return failure.reason


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens at: one the system just gave out, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_port_nothing_listens_at_says_connection_refused() -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/as2"
    assert await failure_of(url) == (
        f"could not reach {url}: nothing is listening at 127.0.0.1:{port}: connection refused"
    )


async def test_a_host_name_that_does_not_exist_says_dns() -> None:
    # .invalid never resolves (RFC 6761): the resolver answers without asking the network.
    url = "https://as2.acme-retial.invalid/as2"
    assert await failure_of(url) == (
        f"could not reach {url}: the host name 'as2.acme-retial.invalid' was not found (DNS)"
    )


async def test_an_unreachable_proxy_says_why_for_the_proxy() -> None:
    port = closed_port()
    proxy = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(proxy=proxy, timeout=5, trust_env=False) as client:
        with pytest.raises(httpx.TransportError) as raised:
            await client.post("http://as2.acme.example/as2", content=b"AS2")
    failure = connection_failure(PartnerTls(), "http://as2.acme.example/as2", raised.value, proxy)
    assert failure.reason == (
        f"could not reach the proxy {proxy} (for http://as2.acme.example/as2): nothing is "
        f"listening at 127.0.0.1:{port}: connection refused"
    )


async def test_a_server_closing_without_an_answer_says_so() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"AS2")  # the whole request, so that nothing is left unread
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/as2"
    async with server:
        reason = await failure_of(url)
    assert (
        reason == f"could not reach {url}: 127.0.0.1:{port} closed the connection without answering"
    )


def wrapped(cause: BaseException) -> httpx.ConnectError:
    """httpx's error as it is raised: the socket error is its cause, its text says nothing."""
    try:
        try:
            raise cause
        except OSError as err:
            raise httpx.ConnectError("All connection attempts failed") from err
    except httpx.ConnectError as connect:
        return connect


@pytest.mark.parametrize(
    ("cause", "said"),
    [
        (TimeoutError(), "no connection to as2.acme.example:443 within the time allowed"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "as2.acme.example:443 reset the"),
        (
            OSError(errno.ENETUNREACH, "Network is unreachable"),
            "as2.acme.example:443 cannot be reached from here: the network is unreachable",
        ),
        (
            OSError(errno.EHOSTUNREACH, "No route to host"),
            "as2.acme.example:443 cannot be reached from here: no route to the host",
        ),
        (
            socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
            "the host name 'as2.acme.example' could not be looked up now (DNS did not answer)",
        ),
        (
            BrokenPipeError(errno.EPIPE, "Broken pipe"),
            "as2.acme.example:443 closed the connection while we were sending",
        ),
        (OSError(errno.EACCES, "Permission denied"), "as2.acme.example:443: permission denied"),
        (OSError("no errno"), ": ConnectError"),
    ],
)
def test_other_causes_are_told_in_words(cause: OSError, said: str) -> None:
    failure = connection_failure(PartnerTls(), "https://as2.acme.example/as2", wrapped(cause), None)
    assert said in failure.reason
