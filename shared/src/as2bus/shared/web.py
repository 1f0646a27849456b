"""HTTP chassis for the admin APIs: token auth, health and readiness, Prometheus metrics."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

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
