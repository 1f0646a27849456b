"""What console-svc's entrypoints use, built and installed by its lifespan (bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass

from as2bus.console.accounts import Accounts
from as2bus.console.adapters.audit_trail import AuditTrail
from as2bus.console.adapters.backends import Backends
from as2bus.console.adapters.sending import Sender
from as2bus.console.adapters.shown_once import ShownOnce
from as2bus.console.domain.proxy import TrustedProxy
from as2bus.console.user_admin import UserAdmin
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.wiring import Wiring


@dataclass(frozen=True)
class Components:
    accounts: Accounts
    user_admin: UserAdmin
    audit_trail: AuditTrail
    shown_once: ShownOnce  # generated passwords, each shown once after its form's redirect
    proxy: TrustedProxy | None  # None: no trusted proxy signs users in
    # Connected by the lifespan: NATS (Send File, the object store), the other services.
    sender: Sender
    documents: DocumentStore
    backends: Backends
    # Of the settings, what the pages need.
    sso_sign_out_url: str
    cookie_secure: bool
    session_seconds: int
    max_upload_bytes: int


wiring = Wiring(Components, "console-svc")
