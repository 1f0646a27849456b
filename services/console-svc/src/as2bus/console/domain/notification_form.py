"""The Notifications forms ↔ config-svc's channel and rule JSON, and notify-svc's incidents and
deliveries as the page lists them; no I/O.

A channel's secret (the webhook's HMAC key, the SMTP password) is write-only: the form never
shows it, and one left blank is left out of the JSON, which config-svc reads as "keep the
stored one" while the channel's type (and, for e-mail, the user name) stays the same
(config-svc's notifications.py). The type is chosen when a channel is made and fixed after."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from as2bus.console.domain.config_forms import place_errors
from as2bus.contracts.notifications import RULE_KINDS, SmtpSecurity

Choices = list[tuple[str, str]]  # (value, label)

CHANNEL_TYPES = {"webhook": "Webhook", "email": "E-mail"}
WEBHOOK_FIELDS = ("url",)
EMAIL_FIELDS = ("host", "port", "security", "username", "sender", "recipients", "ca_bundle_pem")
SECRET_FIELDS = {"webhook": "secret", "email": "password"}
CHANNEL_FIELDS = ("name", "enabled", *WEBHOOK_FIELDS, *EMAIL_FIELDS, *SECRET_FIELDS.values())
RULE_FIELDS = ("name", "enabled", "kind", "minutes", "repeat_minutes", "channel_ids")
#: Each field's label, for the forms (notification_channel.html, notification_rule.html) and
#: the refusals that name them.
CHANNEL_LABELS = {
    "name": "Name", "enabled": "Status", "url": "URL", "secret": "Secret", "host": "SMTP server",
    "port": "Port", "security": "Security", "username": "User name", "password": "Password",
    "sender": "From", "recipients": "To", "ca_bundle_pem": "Trusted CA certificates",
}  # fmt: skip
RULE_LABELS = {
    "name": "Name", "kind": "Watches for", "minutes": "After (minutes)",
    "repeat_minutes": "Summary at most every (minutes)", "enabled": "Status",
    "channel_ids": "Tell these channels",
}  # fmt: skip

_SECURITY_NAMES = {
    "starttls": "STARTTLS, usually port 587 (recommended)",
    "tls": "TLS from the first byte, usually port 465",
    "none": "None: a relay on this network only (no user name or password)",
}
SECURITY: Choices = [(s, _SECURITY_NAMES[s]) for s in get_args(SmtpSecurity)]
KIND_NAMES = {
    "partner-unreachable": "Partner unreachable",
    "message-failed": "Message failed",
    "mdn-overdue": "MDN overdue",
    "certificate-expiring": "Certificate expiring",
}
KINDS: Choices = [(k, KIND_NAMES[k]) for k in RULE_KINDS]
#: What a kind waits for when its minutes are left empty (config-svc's defaults).
DEFAULT_MINUTES = {"partner-unreachable": "15"}

NEW_CHANNEL = {"enabled": "on", "port": "587", "security": "starttls"}
NEW_RULE = {"enabled": "on", "kind": "partner-unreachable", "minutes": "", "repeat_minutes": "60"}


def _number(text: str) -> float | int | str:
    """A number as typed; not a number, it goes as text and the API's refusal names it."""
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _addresses(text: str) -> list[str]:
    """E-mail addresses as typed: one a line, or separated by commas or spaces."""
    return [part for part in re.split(r"[\s,;]+", text) if part]


def _target(kind: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The channel's public target as the form gives it (secret not included)."""
    if kind == "webhook":
        return {"type": "webhook", "url": form.get("url", "")}
    port = form.get("port", "")
    return {
        "type": "email",
        "host": form.get("host", ""),
        "port": _number(port) if port else 587,
        "security": form.get("security") or "starttls",
        "username": form.get("username") or None,
        "sender": form.get("sender", ""),
        "recipients": _addresses(form.get("recipients", "")),
        "ca_bundle_pem": form.get("ca_bundle_pem") or None,
    }


def channel_body(
    kind: str, form: Mapping[str, str], current: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON of a new channel (``current`` None) or of a channel's update (only what
    changed: the whole target when any of it did, or when a secret was typed), and the
    mistakes found before asking the API (form field → sentence)."""
    secret_name = SECRET_FIELDS[kind]
    secret = form.get(secret_name, "")
    target = _target(kind, form)
    mistakes: dict[str, str] = {}
    stored = dict((current or {}).get("target") or {})
    if kind == "webhook" and not secret and current is None:
        mistakes["secret"] = "a webhook needs a secret (at least 16 characters) to sign with"
    new_user = target.get("username") and target.get("username") != stored.get("username")
    if kind == "email" and not secret and stored.get("password_set") and new_user:
        mistakes["password"] = (
            "type the password of the new user name (the stored one is kept only for the "
            "same user name)"
        )
    if secret:
        target[secret_name] = secret
    body: dict[str, Any] = {"name": form.get("name", ""), "enabled": form.get("enabled") == "on"}
    if current is None:
        return {**body, "target": target}, mistakes
    changes = {k: v for k, v in body.items() if current.get(k) != v}
    public = {k: v.strip() if isinstance(v, str) else v for k, v in stored.items()
              if k not in ("secret_set", "password_set")}  # fmt: skip
    if secret or target != public:  # (the form's text comes trimmed)
        changes["target"] = target
    return changes, mistakes


def channel_values(state: Mapping[str, Any]) -> dict[str, str]:
    """A stored channel as its form shows it: no secret, only whether one is stored."""
    target = state.get("target") or {}
    values = {"name": str(state.get("name", ""))}
    values["enabled"] = "on" if state.get("enabled") else "off"
    for name in (*WEBHOOK_FIELDS, *EMAIL_FIELDS):
        value = target.get(name)
        values[name] = "\n".join(value) if isinstance(value, list) else str(value or "")
    return values


def stored_secret(state: Mapping[str, Any] | None) -> dict[str, str]:
    """Form field → "set" when the channel has its secret stored (the hint by the field)."""
    target = (state or {}).get("target") or {}
    return {
        name: "set" for name, flag in (("secret", "secret_set"), ("password", "password_set"))
        if target.get(flag)
    }  # fmt: skip


def typed_back(form: Mapping[str, str]) -> dict[str, str]:
    """What a refused form shows again: everything typed but the secrets."""
    return {k: v for k, v in form.items() if k not in SECRET_FIELDS.values()}


def channel_field(api_field: str) -> str:
    """The form field an API refusal belongs to: ``target.email.recipients.0`` (pydantic
    names the variant and the list's position) → ``recipients``; ``target.email`` (a rule of
    the whole target, about credentials without TLS) → ``security``."""
    parts = api_field.split(".")
    if parts[0] != "target":
        return api_field
    rest = [p for p in parts[1:] if p not in CHANNEL_TYPES and not p.isdigit()]
    return rest[0] if rest else "security"


def channel_errors(errors: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    rename = {key: channel_field(key) for key in errors}
    return place_errors(errors, CHANNEL_FIELDS, rename, CHANNEL_LABELS)


def where(state: Mapping[str, Any]) -> str:
    """Where a channel's notices go, in a few words for the list."""
    target = state.get("target") or {}
    if target.get("type") == "webhook":
        return str(target.get("url", ""))
    to = ", ".join(target.get("recipients") or [])
    return f"{to} via {target.get('host')}:{target.get('port')}"


def rule_body(
    form: Mapping[str, str], channel_ids: Sequence[str], current: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON of a new rule or of a rule's update (only what changed), and the mistakes
    found before asking. Minutes left empty: the kind's default for a new rule, kept in an
    update."""
    body: dict[str, Any] = {
        "name": form.get("name", ""),
        "kind": form.get("kind", ""),
        "enabled": form.get("enabled") == "on",
        "channel_ids": list(channel_ids),
    }
    for name in ("minutes", "repeat_minutes"):
        if form.get(name):
            body[name] = _number(form[name])
    mistakes = {} if channel_ids else {"channel_ids": "choose at least one channel"}
    if current is None:
        return body, mistakes
    changes = {k: v for k, v in body.items() if k not in ("channel_ids",) and current.get(k) != v}
    if sorted(body["channel_ids"]) != sorted(str(c) for c in current.get("channel_ids") or []):
        changes["channel_ids"] = body["channel_ids"]
    return changes, mistakes


def rule_values(state: Mapping[str, Any]) -> dict[str, str]:
    values = {name: str(state.get(name, "")) for name in ("name", "kind")}
    values["enabled"] = "on" if state.get("enabled") else "off"
    for name in ("minutes", "repeat_minutes"):
        number = state.get(name)
        values[name] = "" if number is None else f"{number:g}"
    return values


def rule_errors(errors: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    rename = {key: key.split(".")[0] for key in errors}  # channel_ids.0 → channel_ids
    return place_errors(errors, RULE_FIELDS, rename, RULE_LABELS)


def minutes_text(minutes: float) -> str:
    """0 → "at once"; 0.05 → "3 s"; 90 → "90 min"."""
    if minutes <= 0:
        return "at once"
    if minutes < 1:
        return f"{minutes * 60:g} s"
    return f"{minutes:g} min"


def delivery_outcome(delivery: Mapping[str, Any]) -> tuple[str, str]:
    """(status colour, words) of a notify-svc delivery: sent, failed (given up), retrying
    (failed at least once, tried again later) or sending (not tried yet)."""
    state = delivery.get("state")
    attempts = int(delivery.get("attempts") or 0)
    if state == "sent":
        return "delivered", "sent"
    if state == "failed":
        return "failed", f"failed after {attempts} attempt{'s' * (attempts != 1)}"
    if attempts:
        return "retrying", f"retrying ({attempts} failed)"
    return "sending", "sending"
