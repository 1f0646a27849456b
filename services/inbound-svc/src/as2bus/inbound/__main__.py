"""``as2bus-inbound`` / ``python -m as2bus.inbound``: run the service or migrate its database."""

from __future__ import annotations

import sys
from typing import Any

from fastapi import FastAPI

from as2bus.inbound.adapters.server_tls import ServerTls
from as2bus.inbound.bootstrap import MIGRATIONS, create_app, server_tls
from as2bus.inbound.entrypoints.server import with_header_timeout
from as2bus.inbound.settings import InboundSettings
from as2bus.shared.entry import service_main


def main(argv: list[str] | None = None) -> int:
    served: list[ServerTls] = []  # the endpoint's HTTPS, once the app is built

    def app(settings: InboundSettings) -> FastAPI:
        tls = server_tls(settings)  # unusable files: one sentence, and no start (exit 2)
        served.extend([tls] if tls else [])
        return create_app(settings, tls)

    def options(settings: InboundSettings) -> dict[str, Any]:
        chosen: dict[str, Any] = {
            "h11_max_incomplete_event_size": settings.max_header_bytes,
            "http": with_header_timeout(settings.header_timeout_seconds),
        }
        if served:  # uvicorn's own loads files once; this context reloads them (server_tls)
            chosen["ssl_context_factory"] = lambda _config, _default: served[0].context
        return chosen

    return service_main(
        "inbound-svc",
        serve_help="run the AS2 endpoint and async MDN delivery",
        settings=InboundSettings,
        create_app=app,
        migrations=MIGRATIONS,
        argv=argv,
        uvicorn_options=options,
    )


if __name__ == "__main__":
    sys.exit(main())
