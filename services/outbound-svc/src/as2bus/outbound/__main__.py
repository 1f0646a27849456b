"""``as2bus-outbound`` / ``python -m as2bus.outbound``: run the service or migrate its database."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from as2bus.shared.chassis import MissingSettingError
from as2bus.shared.db import upgrade_database
from as2bus.shared.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="as2bus-outbound",
        description="as2bus.outbound-svc. Settings come from AS2BUS_* environment variables "
        "(see docs/configuration.md).",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the send consumer, senders and MDN settlement (the default)")
    sub.add_parser("migrate", help="apply database migrations, then exit (for a Kubernetes Job)")
    args = parser.parse_args(argv)

    from as2bus.outbound.app import MIGRATIONS, create_app
    from as2bus.outbound.settings import OutboundSettings

    settings = OutboundSettings()
    configure_logging("outbound-svc", settings.log_level, json_lines=settings.log_json)
    if args.command == "migrate":
        upgrade_database(MIGRATIONS, settings.database_url)
        print("outbound-svc database is at the latest migration")
        return 0
    try:
        app = create_app(settings)
    except (MissingSettingError, ValueError) as err:
        print(f"outbound-svc: {err}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
