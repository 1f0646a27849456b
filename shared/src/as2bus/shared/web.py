"""HTTP chassis for the admin APIs: token auth, health and readiness, Prometheus metrics."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from as2bus.shared.errors import ConflictError, InvalidFieldsError, NotFoundError

ReadinessCheck = Callable[[], Awaitable[None]]

_bearer = HTTPBearer(auto_error=False, description="The admin API token (AS2BUS_API_TOKEN).")


def require_token(expected: str) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that accepts only ``Authorization: Bearer <expected>``."""
    expected_bytes = expected.encode()

    async def check(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> None:
        given = credentials.credentials.encode() if credentials else b""
        if not credentials or not hmac.compare_digest(given, expected_bytes):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing or wrong API token (send 'Authorization: Bearer <token>')",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


def ops_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    """``/healthz`` (process alive), ``/readyz`` (every dependency answers), ``/metrics``."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(response: Response) -> dict[str, object]:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as err:  # a readiness probe reports, it does not raise
                results[name] = f"failing: {type(err).__name__}: {err}"[:200]
        ready = all(v == "ok" for v in results.values())
        response.status_code = status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "ok" if ready else "unavailable", "checks": results}

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


def add_ops_routes(app: FastAPI, checks: dict[str, ReadinessCheck]) -> None:
    app.include_router(ops_router(checks))


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
        body = json.dumps({"detail": f"request body larger than {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
