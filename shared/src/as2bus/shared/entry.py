"""The process entry every service shares: ``serve`` (default) or ``migrate``."""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from as2bus.shared.chassis import MissingSettingError
from as2bus.shared.db import upgrade_database
from as2bus.shared.forwarded import trust_forwarded_headers
from as2bus.shared.heap import frozen_after_start_up
from as2bus.shared.logs import configure_logging
from as2bus.shared.settings import ServiceSettings
from as2bus.shared.starting import StartingGate
from as2bus.shared.tracing import configure_tracing

S = TypeVar("S", bound=ServiceSettings)

#: The exit code of a service that could not start (uvicorn's own for a failed start-up).
STARTUP_FAILURE = 3


def service_main(
    name: str,
    *,
    serve_help: str,
    settings: Callable[[], S],
    create_app: Callable[[S], FastAPI],
    migrations: str,
    argv: list[str] | None = None,
    uvicorn_options: Callable[[S], dict[str, Any]] = lambda _s: {},
) -> int:
    parser = argparse.ArgumentParser(
        prog=f"as2bus-{name.removesuffix('-svc')}",
        description=f"as2bus {name}. Settings come from AS2BUS_* environment variables "
        "(see docs/configuration.md).",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help=f"{serve_help} (the default)")
    sub.add_parser("migrate", help="apply database migrations, then exit (for a Kubernetes Job)")
    args = parser.parse_args(argv)
    try:
        loaded = settings()
    except ValueError as err:  # pydantic's ValidationError names the variable and the problem
        print(f"{name}: {err}", file=sys.stderr)
        return 2
    configure_logging(name, loaded.log_level, json_lines=loaded.log_json)
    if args.command == "migrate":
        upgrade_database(migrations, loaded.database_url)
        print(f"{name} database is at the latest migration")
        return 0
    configure_tracing(name)  # off unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    try:
        app = create_app(loaded)
    except (MissingSettingError, ValueError) as err:
        print(f"{name}: {err}", file=sys.stderr)
        return 2
    frozen_after_start_up(app)
    # X-Forwarded-* only from AS2BUS_FORWARDED_ALLOW_IPS (forwarded.py), never uvicorn's own
    # default: it trusts 127.0.0.1 and would hide the connection's address from the app.
    trust_forwarded_headers(app, loaded.forwarded_allow_ips)
    # Listening from the first second, the lifespan (database, NATS) behind it: while NATS is
    # away the probes are answered and SIGTERM is heard (starting.py).
    gate = StartingGate(app)
    config = uvicorn.Config(
        gate,
        host=loaded.http_host,
        port=loaded.http_port,
        log_config=None,
        proxy_headers=False,
        **uvicorn_options(loaded),
    )
    server = uvicorn.Server(config)
    gate.on_failure = functools.partial(setattr, server, "should_exit", True)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn's Ctrl-C, once it has stopped
        server.run()
    return STARTUP_FAILURE if gate.failed else 0  # the gate logged why
