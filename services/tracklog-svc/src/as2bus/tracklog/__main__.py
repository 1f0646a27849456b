"""``as2bus-tracklog`` / ``python -m as2bus.tracklog``: run the service, migrate its database,
or rebuild the projection from the events stream."""

from __future__ import annotations

import sys

from as2bus.shared.entry import service_main
from as2bus.tracklog.bootstrap import MIGRATIONS, create_app
from as2bus.tracklog.rebuild import rebuild_main
from as2bus.tracklog.settings import TracklogSettings


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["rebuild"]:  # the shared entry knows serve and migrate only
        return rebuild_main(args[1:])
    return service_main(
        "tracklog-svc",
        serve_help="run the projection consumer, the API and the live stream "
        "('rebuild --help': replay the events stream into a fresh projection)",
        settings=TracklogSettings,
        create_app=create_app,
        migrations=MIGRATIONS,
        argv=args,
        uvicorn_options=lambda s: {"timeout_graceful_shutdown": s.shutdown_grace_seconds},
    )


if __name__ == "__main__":
    sys.exit(main())
