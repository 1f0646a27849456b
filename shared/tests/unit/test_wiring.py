"""A service's components on its app: installed once by the lifespan, read typed by routes and
handlers, refused with the service's name before it has started."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from as2bus.shared.wiring import NotStartedError, Wiring


@dataclass(frozen=True)
class Components:
    greeting: str
    count: int = 0


@dataclass(frozen=True)
class Other:
    name: str


wiring = Wiring(Components, "greeter-svc")


def greeting(request: Request) -> str:
    return wiring.get(request).greeting


def app_with_routes(lifespan: object = None) -> FastAPI:
    app = FastAPI(lifespan=lifespan)  # type: ignore[arg-type]

    @app.get("/whole")
    async def whole(components: Annotated[Components, Depends(wiring.get)]) -> dict[str, object]:
        return {"greeting": components.greeting, "count": components.count}

    @app.get("/part")
    async def part(text: Annotated[str, Depends(greeting)]) -> str:
        return text

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_routes_read_the_installed_components_whole_or_in_part() -> None:
    app = app_with_routes()
    wiring.install(app, Components("hello", 3))
    async with client(app) as http:
        assert (await http.get("/whole")).json() == {"greeting": "hello", "count": 3}
        assert (await http.get("/part")).json() == "hello"
    assert wiring.of(app) == Components("hello", 3)


async def test_before_the_lifespan_has_installed_them_a_read_names_the_service() -> None:
    app = app_with_routes()
    with pytest.raises(NotStartedError, match="greeter-svc has not started"):
        wiring.of(app)
    async with client(app) as http:  # the ASGI transport re-raises what the app raised
        with pytest.raises(NotStartedError, match="greeter-svc"):
            await http.get("/whole")


async def test_the_lifespan_installs_them_for_as_long_as_it_runs() -> None:
    seen: list[Components] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with wiring.installed(app, Components("from the lifespan")):
            seen.append(wiring.of(app))
            yield

    app = app_with_routes(lifespan)
    async with app.router.lifespan_context(app), client(app) as http:
        assert (await http.get("/part")).json() == "from the lifespan"
    assert seen == [Components("from the lifespan")]
    with pytest.raises(NotStartedError):
        wiring.of(app)  # gone with the lifespan
    async with app.router.lifespan_context(app):  # and a second run installs them again
        assert wiring.of(app).greeting == "from the lifespan"


def test_they_are_installed_once() -> None:
    app = FastAPI()
    wiring.install(app, Components("first"))
    with pytest.raises(RuntimeError, match="already installed"):
        wiring.install(app, Components("second"))
    assert wiring.of(app).greeting == "first"


def test_a_failing_block_still_uninstalls_them() -> None:
    app = FastAPI()
    with (
        pytest.raises(ValueError, match="startup failed"),
        wiring.installed(app, Components("doomed")),
    ):
        raise ValueError("startup failed")
    with pytest.raises(NotStartedError):
        wiring.of(app)
    wiring.install(app, Components("again"))  # nothing left behind to refuse it


def test_only_the_declared_kind_is_installed() -> None:
    app = FastAPI()
    with pytest.raises(TypeError, match="greeter-svc wires a Components, not a Other"):
        wiring.install(app, Other("x"))  # type: ignore[arg-type]


def test_replace_puts_a_stand_in_in_place_of_one_part() -> None:
    app = FastAPI()
    wiring.install(app, Components("real", 1))
    changed = wiring.replace(app, count=2)
    assert changed == Components("real", 2)
    assert wiring.of(app) is changed


def test_each_app_has_its_own_and_each_service_its_own_slot() -> None:
    first, second = FastAPI(), FastAPI()
    others = Wiring(Other, "other-svc")
    wiring.install(first, Components("one"))
    wiring.install(second, Components("two"))
    others.install(first, Other("beside"))
    assert wiring.of(first).greeting == "one"
    assert wiring.of(second).greeting == "two"
    assert others.of(first).name == "beside"
    with pytest.raises(NotStartedError, match="other-svc"):
        others.of(second)
