"""NATS users for ``as2bus up``: the users and permissions of deploy/k8s (nats_accounts.conf),
a password per user under ``<data>/secrets/nats/``, no anonymous client."""

from __future__ import annotations

import os
import secrets
from importlib.resources import files
from pathlib import Path

from as2bus.cli.stack_setup import secret_file

#: Every user nats_accounts.conf names; ``app`` is what your systems and the CLI connect as.
NATS_USERS = ("config-svc", "cert-svc", "inbound-svc", "outbound-svc", "tracklog-svc",
              "console-svc", "notify-svc", "app", "admin", "sys")  # fmt: skip
CLI_USER = "app"
ACCOUNT = "AS2BUS"


def accounts_conf() -> str:
    return files("as2bus.cli").joinpath("nats_accounts.conf").read_text()


def nats_passwords(data: Path) -> dict[str, str]:
    """Each user's password, created (0600) on the first start that needs it and kept."""
    vault = data / "secrets" / "nats"
    vault.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {user: secret_file(vault / user, lambda: secrets.token_hex(24)) for user in NATS_USERS}


#: nats-server's soft memory limit (the Go runtime's ``GOMEMLIMIT``) under ``as2bus up`` and in
#: the benchmarks, unless the environment sets one. Without it the Go heap grows to twice what
#: is live before collecting and keeps what it took: after a burst of 10 MB documents
#: nats-server held 359-435 MB and peaked at 458 MB for a 100 MB one; with 160 MiB, 77 MB and
#: 129 MB, at the same speed (docs/benchmarks.md, finding 20). 256 MiB left the process at 259
#: MB (the runtime's own memory comes on top of the heap's limit): 192 MiB keeps it under the
#: 256 MB that issue 23 allows. A soft limit: past it the runtime collects more often, it does
#: not fail.
NATS_MEMORY_LIMIT = "192MiB"


def memory_limit_env() -> dict[str, str]:
    return {} if os.environ.get("GOMEMLIMIT") else {"GOMEMLIMIT": NATS_MEMORY_LIMIT}


def password_env(passwords: dict[str, str]) -> dict[str, str]:
    """The variables nats_accounts.conf reads its passwords from (``$CONFIG_SVC_PASSWORD``...)."""
    return {f"{user.upper().replace('-', '_')}_PASSWORD": pw for user, pw in passwords.items()}


def write_nats_conf(data: Path) -> Path:
    """The server's configuration, rewritten at each start (it holds no secret)."""
    store = data / "nats"
    _adopt_anonymous_streams(store / "jetstream")
    conf = store / "nats.conf"
    conf.write_text(f"# Written by `as2bus up` at each start.\n\n{accounts_conf()}")
    return conf


def _adopt_anonymous_streams(jetstream: Path) -> None:
    """A data directory from before users kept its streams in NATS's global account ($G); they
    move to the account the users are in, so its messages and configuration stay visible."""
    anonymous, ours = jetstream / "$G", jetstream / ACCOUNT
    if anonymous.is_dir() and not ours.exists():
        anonymous.rename(ours)


def user_url(url: str, user: str, password: str) -> str:
    """``nats://host:port`` with ``user:password@`` inserted."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"
