"""``as2bus-notify`` / ``python -m as2bus.notify``: run the service or migrate its database."""

from __future__ import annotations

import sys

from as2bus.notify.bootstrap import MIGRATIONS, create_app
from as2bus.notify.settings import NotifySettings
from as2bus.shared.entry import service_main


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "notify-svc",
        serve_help="run the events consumer, the incident clock, the notification sender and "
        "the API",
        settings=NotifySettings,
        create_app=create_app,
        migrations=MIGRATIONS,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
