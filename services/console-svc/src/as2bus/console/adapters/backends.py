"""The other services, read over their HTTP APIs with the console's own token. Pages get plain
dicts (the APIs' JSON); a service that cannot be reached is one BackendError with a sentence."""

from __future__ import annotations

from typing import Any

import httpx


class BackendError(Exception):
    """A service the page needs did not answer as expected; the message says which, plainly."""


class Backend:
    def __init__(self, name: str, client: httpx.AsyncClient) -> None:
        self.name = name
        self._client = client

    async def get(self, path: str, params: Any = None) -> Any:
        return await self._call("GET", path, params=params)

    async def post(self, path: str, body: Any = None, *, timeout: float = 10) -> Any:
        return await self._call("POST", path, json=body, timeout=timeout)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise BackendError(f"{self.name} cannot be reached just now ({err})") from err
        if answer.status_code == 404:
            return None
        if answer.status_code >= 400:
            raise BackendError(f"{self.name} answered {answer.status_code}: {answer.text[:200]}")
        return answer.json()

    def stream(self, path: str, params: Any = None) -> Any:
        """An open streaming GET (server-sent events), for the caller to iterate and close."""
        return self._client.stream("GET", path, params=params, timeout=None)


class Backends:
    """tracklog-svc, config-svc and cert-svc, one client each."""

    def __init__(self, urls: dict[str, str], token: str | None, timeout: float = 10) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._clients = [
            httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout)
            for url in urls.values()
        ]
        named = dict(zip(urls, self._clients, strict=True))
        self.tracklog = Backend("tracklog-svc", named["tracklog"])
        self.config = Backend("config-svc", named["config"])
        self.cert = Backend("cert-svc", named["cert"])
        self.outbound = Backend("outbound-svc", named["outbound"])

    async def enabled_partnerships(self) -> list[dict[str, Any]]:
        """Partnerships a file may be sent on: enabled, with an enabled partner."""
        partnerships = await self.config.get("/api/v1/partnerships") or []
        partners = {p["id"]: p for p in await self.config.get("/api/v1/partners") or []}
        return [
            p for p in partnerships
            if p.get("enabled", True) and partners.get(p["partner_id"], {}).get("enabled", True)
        ]  # fmt: skip

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
