"""``as2bus-outbound`` / ``python -m as2bus.outbound``: run the service or migrate its database."""

from __future__ import annotations

import sys

from as2bus.outbound.bootstrap import MIGRATIONS, create_app
from as2bus.outbound.settings import OutboundSettings
from as2bus.shared.entry import service_main


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "outbound-svc",
        serve_help="run the send consumer, the senders and MDN settlement",
        settings=OutboundSettings,
        create_app=create_app,
        migrations=MIGRATIONS,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
