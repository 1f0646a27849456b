"""The check httpcore's pool makes on an idle connection before reusing it, as our network
backend answers it: from the socket looked up once, not through anyio's attribute map; a
connection the server closed is not reused, an open one is (real sockets on localhost)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import typing

import httpcore
import httpx
import pytest

from as2bus.shared.partner_tls.clients import PinnedTransport, default_transport
from as2bus.shared.partner_tls.pinning import PinnedBackend
from as2bus.testing.local_http import local_http

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy")


@pytest.fixture(autouse=True)
def no_proxy_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class _SocketStream(httpcore.AsyncNetworkStream):
    """A stream over one end of a socket pair that counts what it is asked."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.asked: list[str] = []

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.sock.recv(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sock.sendall(buffer)

    async def aclose(self) -> None:
        self.sock.close()

    def get_extra_info(self, info: str) -> typing.Any:
        self.asked.append(info)
        return self.sock if info == "socket" else None


class _PairBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, stream: _SocketStream) -> None:
        self.stream = stream

    async def connect_tcp(self, *args: typing.Any, **kwargs: typing.Any) -> _SocketStream:
        return self.stream


async def test_readable_is_answered_from_the_socket_not_the_inner_stream() -> None:
    ours, theirs = socket.socketpair()
    inner = _SocketStream(ours)
    backend = PinnedBackend(ssl.create_default_context(), (), inner=_PairBackend(inner))
    stream = await backend.connect_tcp("partner.example", 80)
    assert stream.get_extra_info("is_readable") is False  # idle and open
    assert stream.get_extra_info("is_readable") is False
    theirs.close()  # the server goes away: the next read would be the end
    assert stream.get_extra_info("is_readable") is True
    assert inner.asked == ["socket"]  # looked up once, when the connection was made
    ours.close()
    assert stream.get_extra_info("is_readable") is True  # a closed socket: readable


@pytest.mark.parametrize(("closes", "connections"), [(True, 2), (False, 1)])
async def test_an_idle_connection_is_reused_only_while_the_server_keeps_it(
    closes: bool, connections: int
) -> None:
    transport = default_transport(ssl.create_default_context())
    assert isinstance(transport, PinnedTransport)
    async with local_http(close_after_answer=closes) as server:
        async with httpx.AsyncClient(transport=transport) as client:
            first = await client.get(server.url)
            await asyncio.sleep(0.1)  # the server's FIN, if any, arrives
            second = await client.get(server.url)  # on a closed connection: "Server disconnected"
        assert (first.text, second.text) == ("ok", "ok")
        assert len(server.connections) == connections


def test_the_environment_s_proxies_keep_httpx_s_own_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = ssl.create_default_context()
    assert isinstance(default_transport(context), PinnedTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert default_transport(context) is None
