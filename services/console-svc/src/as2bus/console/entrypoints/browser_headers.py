"""What every answer tells the browser, whatever route gave it: no framing by another site
(clickjacking), only this site's own scripts, styles and forms (the console has no inline
script, style or event handler: console.js and console.css do it all), no guessing a download's
type, no full URL in the Referer of a link out, and no copy kept of a page with business data
(the Back button after sign-out on a shared workstation shows nothing)."""

from __future__ import annotations

from typing import Any

#: 'self' for everything the pages load (console.js fetches its own pages and listens to
#: their live updates), nothing else; forms post here only; no <base> or plugin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
_ALWAYS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),  # for browsers that predate frame-ancestors
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
#: The script and stylesheet: the same for everyone, cacheable like any static file.
_CACHEABLE = "/static/"


class BrowserHeaders:
    """ASGI middleware: the headers above on every answer; ``Cache-Control: no-store`` on all
    but the static files, unless the route chose its own."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(_CACHEABLE)

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in _ALWAYS if n not in present]
                if not cacheable and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
