"""Audit entries the console makes itself, for what no configuration event tells: who signed in
or out, who failed to and was locked out (the address tried and where from, never the password
typed), who downloaded a keystore with our private key, and who sent, resent or hurried
messages to a partner. No I/O."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from as2bus.console.domain.audit import AuditEntry

SIGN_IN = "sign-in"
#: signed in; failed (a wrong address or password); locked out (the failure that starts the
#: wait); refused (tried during the wait: the password was not even checked); signed out.
SignInAction = Literal["signed in", "failed", "locked out", "refused", "signed out"]
#: An address typed at the sign-in form is kept to this length: it is whatever was typed.
_TYPED_KEPT = 320


def sign_in_entry(
    action: SignInAction, email: str, client_address: str, at: datetime
) -> AuditEntry:
    """A sign-in event for ``email`` from ``client_address``. Who did it: the user, once the
    password proved it; before that, only "someone" at that address."""
    typed = email[:_TYPED_KEPT] or "(no address typed)"
    proven = action in ("signed in", "signed out")
    actor = typed if proven else f"someone at {client_address}"
    changes = {"client_address": {"from": None, "to": client_address}}
    return AuditEntry(uuid.uuid4(), at, actor, action, SIGN_IN, typed, changes)


def keystore_export_entry(
    actor: str, station: str, partner: str, file: str, at: datetime
) -> AuditEntry:
    """``actor`` downloaded ``file`` (keystore.p12: our private key) of the keystore of
    station → partner."""
    changes = {"file": {"from": None, "to": file}}
    return AuditEntry(uuid.uuid4(), at, actor, "exported", "keystore",
                      f"{station} → {partner}", changes)  # fmt: skip


MESSAGE = "message"


def send_entry(
    actor: str,
    station: str,
    partner: str,
    files: Sequence[str],
    subject: str | None,
    request_id: str,
    at: datetime,
) -> AuditEntry:
    """``actor`` sent ``files`` as one message from Send File (``subject`` None: the
    partner's default); ``request_id`` is what the TrackLog lists it under."""
    changes = {
        "files": {"from": None, "to": list(files)},
        "subject": {"from": None, "to": subject or "the partner's default"},
        "request_id": {"from": None, "to": request_id},
    }
    return AuditEntry(uuid.uuid4(), at, actor, "sent", MESSAGE, f"{station} → {partner}", changes)


def resend_entry(
    actor: str, station: str, partner: str, message_id: str, request_id: str, at: datetime
) -> AuditEntry:
    """``actor`` sent message ``message_id`` again, as the request ``request_id``."""
    changes = {
        "resend_of": {"from": None, "to": message_id},
        "request_id": {"from": None, "to": request_id},
    }
    return AuditEntry(uuid.uuid4(), at, actor, "resent", MESSAGE, f"{station} → {partner}",
                      changes)  # fmt: skip


def retry_now_entry(actor: str, partner: str, retried: int, at: datetime) -> AuditEntry:
    """``actor`` had the ``retried`` messages waiting for a retry to ``partner`` sent now."""
    changes = {"retrying_messages": {"from": None, "to": retried}}
    return AuditEntry(uuid.uuid4(), at, actor, "retried now", MESSAGE, f"to {partner}", changes)
