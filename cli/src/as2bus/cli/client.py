"""The HTTP client for config-svc's admin API, and the mapping of its errors to `CliError`.

The CLI never imports a service: it talks to it over HTTP. Tests inject an
``httpx.MockTransport`` through `CliState.transport`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DEFAULT_CONFIG_URL = "http://127.0.0.1:8081"
DEFAULT_CERT_URL = "http://127.0.0.1:8082"
DEFAULT_CONSOLE_URL = "http://127.0.0.1:8085"
API = "/api/v1"
TOKEN_REFUSED = (
    "the API token was refused (set AS2BUS_API_TOKEN or --token; `as2bus up` keeps one per "
    "scope in var/secrets/tokens/)"
)
_MSG_PREFIXES = ("Value error, ", "Assertion failed, ")
#: Secrets shorter than this are not masked. No service writes a submitted value into its
#: sentences (their 422 bodies leave FastAPI's ``input`` out, and so does `field_lines`), so a
#: short secret found in a sentence ("x", "8", "long") is the service's own word: masking it
#: would garble the sentence and show which word the secret is. The services refuse shorter
#: keystore, console and webhook secrets anyway (8, 12 and 16 characters).
MIN_MASKED_SECRET = 8


class CliError(Exception):
    """A failure to report to the user as ``error: <line>`` lines, exit code 1."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines) or ["failed"]


def data_dir() -> Path:
    """Where `as2bus up` keeps its data: ``AS2BUS_DATA_DIR`` or ``./var``."""
    return Path(os.environ.get("AS2BUS_DATA_DIR") or "var")


def token_problem(token: str | None) -> str:
    """What to say when a service answers 401: the token given was refused, or there was none
    to give (no --token, no AS2BUS_API_TOKEN, no file `as2bus up` wrote in the data dir)."""
    if token:
        return TOKEN_REFUSED
    where = (data_dir() / "secrets" / "tokens" / "admin").absolute()
    return (
        f"no API token found (looked in {where}): run `make run` first, or set "
        "AS2BUS_API_TOKEN / --token"
    )


def stored_token() -> str | None:
    """The admin token `as2bus up` wrote under ``<data dir>/secrets/``, if readable.

    ``tokens/admin`` since API tokens have scopes; ``api-token`` in a data directory from before.
    """
    vault = data_dir() / "secrets"
    for path in (vault / "tokens" / "admin", vault / "api-token"):
        try:
            token = path.read_text().strip()
        except OSError:
            continue
        if token:
            return token
    return None


def with_stored_nats_user(url: str) -> str:
    """``url`` with the ``app`` user `as2bus up` created (``<data dir>/secrets/nats/app``) when
    the URL names no user and that file is readable; ``url`` unchanged otherwise."""
    if "@" in url or "://" not in url:
        return url
    try:
        password = (data_dir() / "secrets" / "nats" / "app").read_text().strip()
    except OSError:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://app:{password}@{rest}" if password else url


def field_lines(detail: Any, scrub: Callable[[str], str] = str) -> list[str]:
    """FastAPI-style ``[{"loc": [...], "msg": ...}]`` as ``<field path>: <msg>`` lines; a
    message with an ``error_code`` beside it is a whole sentence, shown alone.

    An item's ``input`` (the value submitted, a password included) is never shown. A list
    position reads as people count: ``status (value 1)``, not ``status.0``. ``scrub`` masks
    secrets in the messages (never in the field paths)."""
    if not isinstance(detail, list):
        return [scrub(str(detail))]
    lines = []
    for item in detail:
        if not isinstance(item, dict):
            lines.append(scrub(str(item)))
            continue
        if item.get("error_code") and item.get("msg"):
            lines.append(scrub(str(item["msg"])))
            continue
        loc = [str(part) for part in item.get("loc", []) if not isinstance(part, int)]
        if loc and loc[0] in ("body", "query", "path"):
            loc = loc[1:]
        field = ".".join(loc)
        if positions := [part for part in item.get("loc", []) if isinstance(part, int)]:
            field += f" (value {positions[-1] + 1})"
        msg = str(item.get("msg", "invalid"))
        for prefix in _MSG_PREFIXES:
            msg = msg.removeprefix(prefix)
        msg = scrub(msg)
        lines.append(f"{field}: {msg}" if loc else msg)
    return lines or ["the request was refused"]


class ConfigClient:
    """Thin wrapper over ``httpx.Client`` that returns decoded JSON or raises `CliError`.

    One per admin API (config-svc, cert-svc); ``service`` and ``url_option`` name it in errors.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        transport: httpx.BaseTransport | None = None,
        *,
        service: str = "config-svc",
        url_option: str = "--config-url",
    ) -> None:
        self.service, self.url_option = service, url_option
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._token = token
        # A server that does not take the connection is said so within seconds; an answer
        # (an export, a large list) may take longer.
        timeout = httpx.Timeout(15.0, connect=3.0)
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, transport=transport, timeout=timeout
        )
        #: Values never to show, even inside an error message (partner passwords, tokens).
        self.secrets: set[str] = set()

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self._send("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("POST", path, json=body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("PATCH", path, json=body)

    def delete(self, path: str) -> None:
        self._send("DELETE", path)

    def upload(
        self,
        path: str,
        fields: dict[str, Any],
        file: tuple[str, bytes],
        more_files: dict[str, tuple[str, bytes]] | None = None,
    ) -> Any:
        """multipart/form-data: ``fields`` (None values left out), the ``file`` part and any
        ``more_files`` by part name."""
        data = {
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in fields.items()
            if v is not None
        }
        return self._send("POST", path, data=data, files={"file": file, **(more_files or {})})

    def download(self, path: str, params: dict[str, str] | None = None) -> bytes:
        content: bytes = self._send("GET", path, raw=True, params=params)
        return content

    def _send(self, method: str, path: str, *, raw: bool = False, **kwargs: Any) -> Any:
        name = self.service
        try:
            response = self._http.request(method, API + path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout):  # refused, or no answer within 3 s
            raise CliError(
                f"cannot reach {name} at {self.base_url} — is it running? (make run)"
            ) from None
        except httpx.TimeoutException:
            raise CliError(f"{name} at {self.base_url} did not answer in time") from None
        except httpx.TransportError as err:
            raise CliError(f"cannot talk to {name} at {self.base_url}: {err}") from None
        if not response.is_success:
            raise self._error(response)
        if raw:
            return response.content
        try:
            return response.json() if response.content else None
        except ValueError:
            raise CliError(
                f"{self.base_url} did not answer like {name} (no JSON); check {self.url_option}"
            ) from None

    def _error(self, response: httpx.Response) -> CliError:
        try:
            detail = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        status = response.status_code
        if status == 401:
            lines = [token_problem(self._token)]
        elif status == 403:  # the service names the scope needed and the token's scope
            lines = [f"{self.service} refused: {detail or 'the token lacks the scope needed'}"]
        elif status == 404:
            lines = [str(detail or f"not found: {response.request.url.path}")]
        elif status in (409, 422) and detail is not None:
            return CliError(*field_lines(detail, self._scrub))
        elif status == 413:
            lines = [f"file too large: {detail or 'the service refused the upload'}"]
        else:
            text = str(detail) if detail is not None else response.text[:500]
            lines = [f"{self.service} answered {status}: {text}".rstrip(": ")]
        return CliError(*(self._scrub(line) for line in lines))

    def _scrub(self, text: str) -> str:
        """``text`` with each secret masked where it stands as a whole value: not inside a
        word ("x" leaves "export" alone) and only secrets of `MIN_MASKED_SECRET` characters
        or more. A last guard: `field_lines` never shows a submitted value."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= MIN_MASKED_SECRET:
                whole = rf"(?<!\w){re.escape(secret)}(?!\w)"
                text = re.sub(whole, "***", text)
        return text


@dataclass
class CliState:
    """What the root options decided, shared by every command through ``ctx.obj``."""

    config_url: str = DEFAULT_CONFIG_URL
    cert_url: str = DEFAULT_CERT_URL
    token: str | None = None
    json: bool = False
    transport: httpx.BaseTransport | None = None
    _client: ConfigClient | None = field(default=None, repr=False)
    _cert_client: ConfigClient | None = field(default=None, repr=False)
    console_url: str = DEFAULT_CONSOLE_URL
    _console_client: ConfigClient | None = field(default=None, repr=False)

    def client(self) -> ConfigClient:
        if self._client is None:
            token = self.token or stored_token()
            self._client = ConfigClient(self.config_url, token, self.transport)
        return self._client

    def cert_client(self) -> ConfigClient:
        if self._cert_client is None:
            token = self.token or stored_token()
            self._cert_client = ConfigClient(
                self.cert_url, token, self.transport, service="cert-svc", url_option="--cert-url"
            )
        return self._cert_client

    def console_client(self) -> ConfigClient:
        if self._console_client is None:
            token = self.token or stored_token()
            self._console_client = ConfigClient(
                self.console_url,
                token,
                self.transport,
                service="console-svc",
                url_option="AS2BUS_CONSOLE_URL",
            )
        return self._console_client

    def close(self) -> None:
        for client in (self._client, self._cert_client, self._console_client):
            if client is not None:
                client.close()
        self._client = self._cert_client = self._console_client = None
