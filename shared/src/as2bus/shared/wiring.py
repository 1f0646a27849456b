"""One typed object per service for what its entrypoints use, instead of FastAPI's untyped
``app.state`` bag.

A service declares, beside its composition root (``<service>/wiring.py``, which the
entrypoints can import without importing the root), a frozen dataclass of its components and
one ``Wiring`` for it::

    @dataclass(frozen=True)
    class Components:
        service: ConfigService

    wiring = Wiring(Components, "config-svc")

Its lifespan builds the components once and installs them for as long as the app runs::

    with wiring.installed(app, Components(service=...)):
        yield

Entrypoints read them typed: ``wiring.get(request).service`` in a route or a dependency
(``Depends(wiring.get)`` gives the whole object), ``wiring.of(app).service`` where there is no
request (a bus handler registered by the root). Read before the lifespan has installed them, or
after it ended, both raise ``NotStartedError`` naming the service.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


class NotStartedError(RuntimeError):
    """A service's components were asked for before its lifespan installed them."""


class Wiring(Generic[T]):
    """Where one service keeps its components on an app: one attribute of ``app.state``,
    set once by the lifespan and read typed."""

    def __init__(self, kind: type[T], service: str) -> None:
        self.kind = kind
        self.service = service
        self._key = f"wiring[{service}]"

    def install(self, app: Starlette, components: T) -> None:
        """Make ``components`` the app's; once: a second install without ``uninstall`` is a
        wiring mistake (two lifespans on one app), refused rather than silently replacing."""
        if not isinstance(components, self.kind):
            raise TypeError(
                f"{self.service} wires a {self.kind.__qualname__}, "
                f"not a {type(components).__qualname__}"
            )
        if hasattr(app.state, self._key):
            raise RuntimeError(f"{self.service}'s components are already installed")
        setattr(app.state, self._key, components)

    def uninstall(self, app: Starlette) -> None:
        """Forget the app's components (nothing happens if none are installed)."""
        # Starlette's State raises KeyError for an attribute it never had (not AttributeError).
        with contextlib.suppress(AttributeError, KeyError):
            delattr(app.state, self._key)

    @contextlib.contextmanager
    def installed(self, app: Starlette, components: T) -> Iterator[T]:
        """``install`` for the length of the block (the lifespan's), ``uninstall`` after it,
        however it ends."""
        self.install(app, components)
        try:
            yield components
        finally:
            self.uninstall(app)

    def replace(self, app: Starlette, **changes: Any) -> T:
        """Install a copy of the app's components with some parts changed, and return it: for
        tests that put a stand-in in place of one part of a wired app."""
        changed = dataclasses.replace(self.of(app), **changes)
        self.uninstall(app)
        self.install(app, changed)
        return changed

    def of(self, app: Starlette) -> T:
        """The app's components; ``NotStartedError`` before its lifespan installed them."""
        found = getattr(app.state, self._key, None)
        if found is None:
            raise NotStartedError(
                f"{self.service} has not started: its components are installed by its "
                "lifespan, and read only while it runs"
            )
        components: T = found
        return components

    def get(self, request: Request) -> T:
        """The components of the app serving ``request``: a FastAPI dependency
        (``Depends(wiring.get)``), or called from one."""
        return self.of(request.app)
