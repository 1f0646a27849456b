"""``as2bus-console`` / ``python -m as2bus.console``: run the console, or migrate its database."""

from __future__ import annotations

import sys

from as2bus.console.bootstrap import MIGRATIONS, create_app
from as2bus.console.settings import ConsoleSettings
from as2bus.shared.entry import service_main


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "console-svc",
        serve_help="run the web console",
        settings=ConsoleSettings,
        create_app=create_app,
        migrations=MIGRATIONS,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
