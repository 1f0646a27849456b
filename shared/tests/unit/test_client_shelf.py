"""A client of its own for each request in flight (``ClientShelf``): lent newest first, put
back for the next request, closed when idle too long, in excess, or retired; and, over real
sockets, that sixteen requests at once leave sixteen pools of one connection each, reused by
the next sixteen."""

from __future__ import annotations

import asyncio

import httpx

from as2bus.shared.partner_tls.clients import PartnerClients
from as2bus.shared.partner_tls.shelf import ClientShelf
from as2bus.testing.local_http import local_http


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def shelf(
    keep: int = 20, clock: Clock | None = None
) -> tuple[ClientShelf, list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        made.append(httpx.AsyncClient())
        return made[-1]

    return ClientShelf(make, keep=keep, idle_seconds=5.0, clock=clock or Clock()), made


def closed(client: httpx.AsyncClient) -> bool:
    return client.is_closed


async def test_one_request_after_another_reuses_one_client() -> None:
    clients, made = shelf()
    for _ in range(3):
        async with clients.lease():
            pass
    assert len(made) == 1
    assert not closed(made[0])
    assert (clients.idle, clients.lent) == (1, 0)


async def test_requests_at_once_each_get_a_client_and_the_newest_back_is_lent_first() -> None:
    clients, made = shelf()
    async with clients.lease() as first, clients.lease() as second:
        assert second is not first
        assert clients.lent == 2
    async with clients.lease() as next_one:
        assert next_one is first  # put back last
    assert len(made) == 2
    assert clients.idle == 2


async def test_idle_clients_beyond_the_limit_are_closed() -> None:
    clients, _made = shelf(keep=1)
    async with clients.lease() as first, clients.lease() as second:
        pass
    assert closed(second) != closed(first)  # one kept, the other closed
    assert clients.idle == 1


async def test_a_sweep_closes_the_clients_idle_longer_than_the_keep_alive() -> None:
    clock = Clock()
    clients, _made = shelf(clock=clock)
    async with clients.lease() as old:
        async with clients.lease() as recent:
            pass
        clock.now += 4.0  # ``recent`` back at 1000, ``old`` at 1004
    clock.now += 2.0  # 1006: ``recent`` idle 6 s, ``old`` 2 s
    await clients.sweep()
    assert closed(recent)
    assert not closed(old)
    async with clients.lease() as again:
        assert again is old


async def test_retired_clients_close_idle_at_once_and_lent_ones_when_back() -> None:
    clients, _made = shelf()
    async with clients.lease() as idle:
        pass
    async with clients.lease() as lent:
        await clients.retire()
        assert not closed(lent)
    assert closed(idle)
    assert closed(lent)
    assert clients.idle == 0


async def test_a_client_closed_while_lent_is_not_put_back() -> None:
    clients, _made = shelf()
    async with clients.lease() as broken:
        await broken.aclose()
    async with clients.lease() as fresh:
        assert fresh is not broken
        assert not closed(fresh)


async def test_sixteen_requests_at_once_use_sixteen_pools_of_one_connection() -> None:
    """The point of the shelf: httpcore's pool looks at all its connections at each request,
    so each request in flight has a pool of its own, holding one connection."""
    used: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        used.append(httpx.AsyncClient(trust_env=False))
        return used[-1]

    clients = PartnerClients(make, ca_bundle=None, timeout=5)
    async with local_http() as server:

        async def post() -> None:
            async with clients.lease_default(server.url) as client:
                assert (await client.post(server.url, content=b"x")).status_code == 200

        for round_ in (1, 2):
            server.release.clear()
            sends = [asyncio.create_task(post()) for _ in range(16)]
            while server.requests < 16 * round_:  # all sixteen in flight
                await asyncio.sleep(0.01)
            server.release.set()
            await asyncio.gather(*sends)
        pools = [client._transport._pool.connections for client in used]  # type: ignore[attr-defined]
        await clients.aclose()
    assert len(used) == 16  # the second sixteen took the clients the first put back
    assert len(server.connections) == 16  # and their connections, kept alive
    assert [len(connections) for connections in pools] == [1] * 16


async def test_closing_the_idle_clients_leaves_the_lent_ones_alone() -> None:
    """What a caller with nothing more to send does (inbound-svc's async MDNs, when none is
    due): every client not lent is closed, with its connections."""
    made: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        made.append(httpx.AsyncClient())
        return made[-1]

    clients = PartnerClients(make, ca_bundle=None, timeout=5)
    async with clients.lease_default("https://a.example/as2") as lent:
        async with clients.lease_default("https://b.example/as2") as idle:
            pass
        await clients.close_idle()
        assert closed(idle)
        assert not closed(lent)
    async with clients.lease_default("https://a.example/as2") as again:
        assert again is lent  # put back after the close: kept for the next request
    await clients.aclose()


async def test_clients_idle_past_the_keep_alive_are_closed_by_a_later_lease_anywhere() -> None:
    """Once per keep-alive expiry a lease sweeps every profile: the clients idle longer are
    closed (their sockets, which the server has closed by then, go with them), and an origin
    nothing posts to any more is forgotten."""
    clock = Clock()
    made: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        made.append(httpx.AsyncClient())
        return made[-1]

    clients = PartnerClients(make, ca_bundle=None, timeout=5, clock=clock)
    async with clients.lease_default("https://old.example/as2") as old:
        pass
    clock.now += 4.0
    async with clients.lease_default("https://new.example/as2") as new:
        pass
    assert not closed(old)  # 4 s idle: within the 5 s keep-alive
    clock.now += 2.0
    async with clients.lease_default("https://new.example/as2") as again:
        assert again is new
    assert closed(old)
    async with clients.lease_default("https://old.example/as2") as fresh:
        assert fresh is not old  # the old origin's shelf was forgotten, a new client made
    await clients.aclose()
