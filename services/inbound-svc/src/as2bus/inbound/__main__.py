"""``as2bus-inbound`` / ``python -m as2bus.inbound``: run the service or migrate its database."""

from __future__ import annotations

import sys

from as2bus.inbound.bootstrap import MIGRATIONS, create_app
from as2bus.inbound.entrypoints.server import with_header_timeout
from as2bus.inbound.settings import InboundSettings
from as2bus.shared.entry import service_main


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "inbound-svc",
        serve_help="run the AS2 endpoint and async MDN delivery",
        settings=InboundSettings,
        create_app=create_app,
        migrations=MIGRATIONS,
        argv=argv,
        uvicorn_options=lambda s: {
            "h11_max_incomplete_event_size": s.max_header_bytes,
            "http": with_header_timeout(s.header_timeout_seconds),
        },
    )


if __name__ == "__main__":
    sys.exit(main())
