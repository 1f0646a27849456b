"""``as2bus-config`` / ``python -m as2bus.config``: run the service or migrate its database."""

from __future__ import annotations

import sys

from as2bus.config.bootstrap import MIGRATIONS, create_app
from as2bus.config.settings import ConfigSettings
from as2bus.shared.entry import service_main


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "config-svc",
        serve_help="run the HTTP API, the outbox relay and the credentials responder",
        settings=ConfigSettings,
        create_app=create_app,
        migrations=MIGRATIONS,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
