"""``as2bus-cert`` / ``python -m as2bus.cert``: run the service or migrate its database."""

from __future__ import annotations

import sys

from as2bus.cert.bootstrap import MIGRATIONS, create_app
from as2bus.cert.settings import CertSettings
from as2bus.shared.entry import service_main


def main(argv: list[str] | None = None) -> int:
    return service_main(
        "cert-svc",
        serve_help="run the API, the key-material responder and the expiry checks",
        settings=CertSettings,
        create_app=create_app,
        migrations=MIGRATIONS,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
