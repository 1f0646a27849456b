"""The console's first admin, created by ``as2bus up`` on a console without users: its password
is printed once and kept in ``<data>/secrets/console-admin`` (mode 0600), like the API tokens."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

FIRST_ADMIN = "admin@as2bus.local"


def first_admin(console_url: str, token: str, vault: Path) -> str:
    """Create the first admin unless it is known already; what to tell the user."""
    kept = vault / "console-admin"
    if kept.is_file():
        email = kept.read_text().splitlines()[0]
        return f"Console: {console_url} (sign in as {email}, password in {kept})"
    answer = httpx.post(
        f"{console_url}/api/v1/users",
        json={"email": FIRST_ADMIN, "role": "admin"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if answer.status_code == 409:
        exists = f"{FIRST_ADMIN} exists already; `as2bus user create` adds users"
        return f"Console: {console_url} ({exists})"
    answer.raise_for_status()
    password = answer.json()["password"]
    fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"{FIRST_ADMIN}\n{password}\n")
    return (
        f"Console: {console_url}\n  first admin created: {FIRST_ADMIN} / {password}\n"
        f"  (shown this once; kept in {kept})"
    )
