"""The other services, read over their HTTP APIs with the console's own token. Pages get plain
dicts (the APIs' JSON); a service that cannot be reached is one BackendError with a sentence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from as2bus.shared.audit import ACTOR_HEADER


class BackendError(Exception):
    """A service the page needs did not answer as expected; the message says which, plainly."""


class BackendRefused(BackendError):
    """A 4xx: the service is up and refused what it was asked (a malformed id or filter from a
    link, say), with its ``reasons`` by field as a Change has them. A page may say so; left
    alone it is a BackendError like any other."""

    def __init__(self, message: str, status: int, reasons: dict[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.reasons = reasons


@dataclass(frozen=True)
class Change:
    """The answer to a change asked for on a user's behalf: done, or refused with reasons a
    form can show next to its fields (``errors``: field name, or "" for the whole form)."""

    status: int
    body: Any
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status < 400


@dataclass(frozen=True)
class File:
    """A file a service serves for download (a certificate, a keystore)."""

    content: bytes
    media_type: str
    filename: str


class Backend:
    def __init__(self, name: str, client: httpx.AsyncClient) -> None:
        self.name = name
        self._client = client

    async def get(self, path: str, params: Any = None) -> Any:
        return await self._call("GET", path, params=params)

    async def change(
        self,
        method: str,
        path: str,
        *,
        actor: str,
        timeout: float = 30,
        failed_from: int = 500,
        **kwargs: Any,
    ) -> Change:
        """A write for the signed-in ``actor`` (``json=``, or ``data=`` and ``files=`` for an
        upload). The service records the actor in its audit trail next to the console's token.
        A refusal (4xx) comes back with its reasons; only an unreachable service or a status
        from ``failed_from`` (5xx) raises BackendError. An action whose 502 says why something
        beyond the service did not answer (a channel's test) passes 503."""
        answer = await self._send(
            method, path, refused_from=failed_from, headers={ACTOR_HEADER: actor},
            timeout=timeout, **kwargs,
        )  # fmt: skip
        assert answer is not None  # a 404 is a refusal with its reason, like any 4xx
        body = answer.json() if answer.content else None
        return Change(answer.status_code, body, _reasons(answer.status_code, body))

    async def file(self, path: str) -> File | None:
        """A file to pass on to the browser, None when there is no such thing."""
        answer = await self._send("GET", path)
        if answer is None:
            return None
        disposition = answer.headers.get("content-disposition", "")
        filename = disposition.split("filename=", 1)[-1].strip('"') if disposition else "download"
        media = answer.headers.get("content-type", "application/octet-stream")
        return File(answer.content, media, filename)

    async def post(self, path: str, body: Any = None, *, timeout: float = 10) -> Any:
        return await self._call("POST", path, json=body, timeout=timeout)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self._send(method, path, **kwargs)
        return None if answer is None else answer.json()

    async def _send(
        self, method: str, path: str, *, refused_from: int = 400, **kwargs: Any
    ) -> httpx.Response | None:
        """The answer; None for a 404 (when 4xx are errors); BackendError for an unreachable
        service or a status from ``refused_from`` on."""
        try:
            answer = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise BackendError(f"{self.name} cannot be reached just now ({err})") from err
        if answer.status_code == 404 and refused_from <= 404:
            return None
        if answer.status_code >= refused_from:
            said = f"{self.name} answered {answer.status_code}: {answer.text[:200]}"
            if answer.status_code >= 500:
                raise BackendError(said)
            reasons = _reasons(answer.status_code, _json_or_none(answer))
            raise BackendRefused(said, answer.status_code, reasons)
        return answer

    def stream(self, path: str, params: Any = None) -> Any:
        """An open streaming GET (server-sent events), for the caller to iterate and close."""
        return self._client.stream("GET", path, params=params, timeout=None)


class Backends:
    """tracklog-svc, config-svc, cert-svc, outbound-svc and notify-svc, one client each."""

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
        self.notify = Backend("notify-svc", named["notify"])

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


def _json_or_none(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _reasons(status: int, body: Any) -> dict[str, str]:
    """Field name → sentence from the APIs' error bodies (FastAPI's 422 shape, which 409 and
    our own 422 share: ``detail`` is a list of {loc, msg} or one sentence)."""
    if status < 400:
        return {}
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return {"": detail}
    reasons: dict[str, str] = {}
    for item in detail if isinstance(detail, list) else []:
        loc = [str(part) for part in item.get("loc", []) if part not in ("body", "query")]
        name = ".".join(loc)
        reasons[name] = (
            f"{reasons[name]}; {item.get('msg')}" if name in reasons else str(item.get("msg"))
        )
    return reasons or {"": f"refused ({status})"}
