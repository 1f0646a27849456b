"""The client of notify-svc's API (``--notify-url``), for ``as2bus notification channel test``."""

from __future__ import annotations

import typer

from as2bus.cli.client import CliState, ConfigClient, stored_token

DEFAULT_NOTIFY_URL = "http://127.0.0.1:8086"
URL_KEY, CLIENT_KEY = "as2bus.notify_url", "as2bus.notify_client"


def notify_client(ctx: typer.Context) -> ConfigClient:
    client: ConfigClient | None = ctx.meta.get(CLIENT_KEY)
    if client is None:
        state = ctx.find_object(CliState) or ctx.ensure_object(CliState)
        url = ctx.meta.get(URL_KEY, DEFAULT_NOTIFY_URL)
        client = ConfigClient(url, state.token or stored_token(), state.transport,
                              service="notify-svc", url_option="--notify-url")  # fmt: skip
        ctx.meta[CLIENT_KEY] = client
        ctx.find_root().call_on_close(client.close)
    return client
