"""HTTP chassis for the admin APIs: scoped token auth, health and readiness (also as the gauge
``as2bus_ready``), Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from as2bus.shared.api_docs import add_offline_docs
from as2bus.shared.audit import ACTOR_HEADER, describe_actor, set_actor
from as2bus.shared.errors import ConflictError, InvalidFieldsError, NotFoundError

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]

_bearer = HTTPBearer(auto_error=False, description="An API token of the route's scope.")


class Scope(enum.IntEnum):
    """What a token may do. A higher scope includes the lower ones: admin ⊇ operate ⊇ read."""

    READ = 1  # tracklog, lists, public certificates
    OPERATE = 2  # operational writes (send, resend)
    ADMIN = 3  # configuration, key material, exports of private keys

    @property
    def label(self) -> str:
        return self.name.lower()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _stored_digest(entry: str, scope: Scope) -> bytes:
    digest = entry.removeprefix("sha256:")
    if len(digest) != 64 or digest.strip("0123456789abcdefABCDEF"):
        # The entry itself is not echoed: it may be a token pasted after the prefix.
        raise ValueError(
            f"a {scope.label} API token entry starts with sha256: but is not 64 hex digits "
            "(write sha256:<hex of SHA-256 of the token>, e.g. from: printf %s TOKEN | sha256sum)"
        )
    return bytes.fromhex(digest)


class ApiTokens:
    """The accepted tokens, kept as SHA-256 digests only, each with its scope.

    An entry written ``sha256:<hex>`` is already a digest, so a deployment can hold hashes
    instead of the tokens themselves.
    """

    def __init__(self, by_scope: dict[Scope, list[str]]) -> None:
        self._digests: list[tuple[bytes, Scope]] = []
        for scope, tokens in by_scope.items():
            for token in tokens:
                if token.startswith("sha256:"):
                    self._digests.append((_stored_digest(token, scope), scope))
                elif token:
                    self._digests.append((_digest(token), scope))

    @classmethod
    def from_settings(cls, tokens: dict[str, list[str]], admin_token: str | None) -> ApiTokens:
        """``AS2BUS_API_TOKENS`` (scope → tokens) plus ``AS2BUS_API_TOKEN`` as an admin token."""
        by_scope: dict[Scope, list[str]] = {}
        for name, values in tokens.items():
            by_scope.setdefault(Scope[name.upper()], []).extend(values)
        if admin_token:
            by_scope.setdefault(Scope.ADMIN, []).append(admin_token)
        return cls(by_scope)

    def __bool__(self) -> bool:
        return bool(self._digests)

    def scope_of(self, token: str) -> Scope | None:
        """The highest scope ``token`` has; every entry is compared, in constant time each."""
        given = _digest(token)
        found: Scope | None = None
        for digest, scope in self._digests:
            if hmac.compare_digest(given, digest) and (found is None or scope > found):
                found = scope
        return found


ScopeCheck = Callable[..., Awaitable[None]]


def require_scope(tokens: ApiTokens, needed: Scope) -> ScopeCheck:
    """A FastAPI dependency: 401 without a known token, 403 when its scope is too low."""

    async def check(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> None:
        have = tokens.scope_of(credentials.credentials) if credentials else None
        if have is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing or unknown API token (send 'Authorization: Bearer <token>')",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if have < needed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs a token with the {needed.label} scope; yours has {have.label}",
                headers={"X-Needed-Scope": needed.label},
            )
        assert credentials is not None  # a scope was found for them
        # For the audit record of the changes this call makes (shared/audit.py).
        token_id = _digest(credentials.credentials).hex()[:8]
        set_actor(describe_actor(token_id, have.label, request.headers.get(ACTOR_HEADER)))

    check.scope = needed  # type: ignore[attr-defined]  # read by route_scope()
    return check


def scoped_routers(prefix: str) -> dict[Scope, APIRouter]:
    """One router per scope: an API route is declared on the router of the scope it needs."""
    return {scope: APIRouter(prefix=prefix) for scope in Scope}


def include_scoped(app: FastAPI, routers: dict[Scope, APIRouter], tokens: ApiTokens) -> None:
    """Mount each scope's router behind the check of that scope."""
    for scope, router in routers.items():
        app.include_router(router, dependencies=[Depends(require_scope(tokens, scope))])


def route_scope(route: APIRoute) -> Scope | None:
    """The scope a mounted route checks, or None if it checks none."""
    for dependency in route.dependencies:
        scope = getattr(dependency.dependency, "scope", None)
        if isinstance(scope, Scope):
            return scope
    return None


READY = Gauge(
    "as2bus_ready",
    "1 while the service's readiness checks (/readyz) pass, else 0",
    ["service"],
)
#: How often ``as2bus_ready`` is refreshed when no probe asks, and how long the checks may
#: take then before the service counts as not ready.
READINESS_REFRESH_SECONDS = 10.0


class Readiness:
    """A service's readiness checks, run for ``/readyz`` and, while the app runs, every
    ``every`` seconds: ``as2bus_ready{service}`` says the outcome to Prometheus without
    kube-state-metrics, and stays current between probes (and where nothing probes)."""

    def __init__(
        self,
        service: str,
        checks: dict[str, ReadinessCheck],
        *,
        every: float = READINESS_REFRESH_SECONDS,
    ) -> None:
        self._checks = checks
        self._every = every
        self._gauge = READY.labels(service)
        self._gauge.set(0)  # not ready until the checks have said so
        self._failing: frozenset[str] | None = None  # the checks failing at the last look
        self._was_ready = False  # until then, a check still failing is the service starting

    async def evaluate(self) -> dict[str, str]:
        """Each check's outcome ("ok" or "failing: ..."); the gauge follows, and a change is
        logged (the probes' own requests are left out of the access log)."""
        results: dict[str, str] = {}
        for name, check in self._checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as err:  # a readiness probe reports, it does not raise
                results[name] = f"failing: {type(err).__name__}: {err}"[:200]
        self._gauge.set(1 if all(v == "ok" for v in results.values()) else 0)
        self._log_change(results)
        return results

    def _log_change(self, results: dict[str, str]) -> None:
        """One line when the checks failing change (by name: an error's text may vary from
        one look to the next), not one per probe."""
        failing = {name: outcome for name, outcome in results.items() if outcome != "ok"}
        if self._failing == frozenset(failing):
            return
        said = "; ".join(f"{name} {outcome}" for name, outcome in failing.items())
        if not failing:
            self._was_ready = True
            log.info("ready: %s", ", ".join(results) or "no checks")
        elif not self._was_ready:  # starting: its checks pass one after the other
            log.info("not ready yet: %s", said)
        else:
            log.warning("not ready: %s", said)
        self._failing = frozenset(failing)

    @contextlib.asynccontextmanager
    async def refreshed(self, _app: Any) -> AsyncIterator[None]:
        """A lifespan: the gauge refreshed on the timer for as long as the app runs."""
        timer = asyncio.create_task(self._refresh_forever(), name="readiness")
        try:
            yield
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
            self._gauge.set(0)  # stopping: no longer taking work

    async def _refresh_forever(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._every):
                    await self.evaluate()
            except TimeoutError:  # a check that hangs (a database that does not answer)
                self._gauge.set(0)
            await asyncio.sleep(self._every)


def ops_router(readiness: Readiness) -> APIRouter:
    """``/healthz`` (process alive), ``/readyz`` (every dependency answers), ``/metrics``; its
    lifespan refreshes ``as2bus_ready``."""
    router = APIRouter(tags=["operations"], lifespan=readiness.refreshed)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(response: Response) -> dict[str, object]:
        results = await readiness.evaluate()
        ready = all(v == "ok" for v in results.values())
        response.status_code = status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "ok" if ready else "unavailable", "checks": results}

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


def add_ops_routes(
    app: FastAPI,
    checks: dict[str, ReadinessCheck],
    *,
    service: str | None = None,
    readiness_every: float = READINESS_REFRESH_SECONDS,
) -> None:
    """The operations routes and the offline API docs. ``service`` labels ``as2bus_ready``:
    by default the app's title without its "as2bus " ("as2bus outbound-svc")."""
    name = service or app.title.removeprefix("as2bus ")
    app.include_router(ops_router(Readiness(name, checks, every=readiness_every)))
    add_offline_docs(app)


def _field_errors(err: InvalidFieldsError) -> dict[str, object]:
    # Same shape as FastAPI's own 422 bodies, so a client parses one format; an error with a
    # code carries it beside its sentence, and the first code is also the body's error_code.
    kind = "conflict" if isinstance(err, ConflictError) else "value_error"
    detail = [
        {"loc": ["body", *e.field.split(".")], "msg": e.message, "type": kind}
        | ({"error_code": e.code} if e.code else {})
        for e in err.errors
    ]
    return _with_code({"detail": detail})


def _with_code(body: dict[str, Any]) -> dict[str, Any]:
    codes = [d["error_code"] for d in body["detail"] if "error_code" in d]
    return {"error_code": codes[0], **body} if codes else body


def add_error_handlers(app: FastAPI) -> None:
    """Map domain errors to 404/409/422 and keep FastAPI's 422 from echoing input."""

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, err: RequestValidationError) -> JSONResponse:
        # FastAPI's default body echoes the offending input, which may hold a password.
        detail = [
            {"loc": e["loc"], "msg": e["msg"], "type": e["type"]}
            | ({"error_code": e["ctx"]["error_code"]} if "error_code" in e.get("ctx", {}) else {})
            for e in err.errors()
        ]
        return JSONResponse(
            _with_code({"detail": detail}), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )

    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, err: NotFoundError) -> JSONResponse:
        body = {"error_code": err.code, "detail": str(err)}
        return JSONResponse(body, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(ConflictError)
    async def conflict(_: Request, err: ConflictError) -> JSONResponse:
        return JSONResponse(_field_errors(err), status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(InvalidFieldsError)
    async def invalid(_: Request, err: InvalidFieldsError) -> JSONResponse:
        return JSONResponse(_field_errors(err), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


class BodySizeLimit:
    """ASGI middleware: refuse a request body over ``max_bytes`` with 413, before reading it all.

    Checks Content-Length up front and counts the bytes of chunked bodies as they arrive, so a
    client that lies or streams cannot make the service buffer more than the limit.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        # The connection is kept (no "Connection: close"): uvicorn reads the rest of the body
        # and drops it, so a client that writes its whole body before it reads (httpx, most
        # AS2 clients) still gets this answer. Closed with its bytes unread, the kernel would
        # reset the connection and the client would see "connection reset" instead.
        body = json.dumps({"detail": f"request body larger than {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
