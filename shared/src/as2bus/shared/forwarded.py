"""The client's own address behind a reverse proxy (an Ingress controller).

Behind a proxy every connection comes from the proxy: without its X-Forwarded-For, every
client has the proxy's address, and what is kept per client address (the console's sign-in
throttle, the access log) lumps them all together. The headers are believed only from the
proxies named in ``AS2BUS_FORWARDED_ALLOW_IPS``: from anyone else they would let a client
choose its own address. uvicorn's ProxyHeadersMiddleware does the reading (the right-most
address no trusted proxy added); this keeps the connection's own address beside it, for what
must be believed from the proxy itself (the console's single sign-on headers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

#: The ASGI scope's key for the connection's own address (the proxy's, behind one).
PEER_KEY = "as2bus.peer"


class ForwardedHeaders:
    """ASGI middleware: keep the connection's address under ``PEER_KEY``, then, for a
    connection from a trusted proxy, take the client's address and scheme from its
    X-Forwarded-For and X-Forwarded-Proto (in place: uvicorn's access log shows them too)."""

    def __init__(self, app: Any, trusted: Sequence[str]) -> None:
        self.app = app
        self._read = ProxyHeadersMiddleware(app, trusted_hosts=list(trusted)) if trusted else app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            scope[PEER_KEY] = client[0] if client else None
        await self._read(scope, receive, send)


def trust_forwarded_headers(app: FastAPI, trusted: Sequence[str]) -> None:
    """Install ``ForwardedHeaders`` outermost. Empty ``trusted``: the headers are ignored."""
    app.add_middleware(ForwardedHeaders, trusted=trusted)


def peer_address(request: Request) -> str | None:
    """The address the connection itself came from: the proxy's behind one, whatever its
    X-Forwarded-For says. For headers only a proxy may set."""
    if PEER_KEY in request.scope:
        peer: str | None = request.scope[PEER_KEY]
        return peer
    return request.client.host if request.client else None
