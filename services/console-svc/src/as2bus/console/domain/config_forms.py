"""Configuration forms ↔ config-svc's JSON, without I/O: what a station form sends, what an
update leaves out, where each refusal of the API is shown, and what the PartnerShip page says
about certificates and messages in flight.

Form fields carry the API's field names wherever the API has one, so a refusal (keyed by API
field name) lands next to the field that caused it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from as2bus.console.domain.plain_errors import pydantic_sentence
from as2bus.contracts.config import ALIAS_PATTERN, SHA256_HEX_PATTERN

STATION_FIELDS = ("as2_id", "name", "private_key_alias", "email")
#: Left blank, these are sent blank: the API's refusal says what is missing, next to the field.
REQUIRED = frozenset({"as2_id", "name", "as2_url"})
#: Left blank in an update, these are cleared (null); other blank fields keep what is stored
#: (a new entity gets the API's default, e.g. an alias derived from the AS2 ID).
CLEARABLE = frozenset({"email", "async_mdn_url", "default_subject", "rate_limit_per_second",
                       "max_attempts"})  # fmt: skip
#: Outbound statuses of a message not settled yet: its partnership must stay until it is.
IN_FLIGHT = ("queued", "sending", "sent", "retrying")
#: How many messages in flight a delete refusal counts, at most.
IN_FLIGHT_COUNTED = 100


def text_fields(form: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """A posted form's text fields, trimmed, the CSRF token left out."""
    return {k: v.strip() for k, v in form if isinstance(v, str) and k != "csrf"}


def only_changes(body: dict[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """An update sends what differs from the stored state: saving an untouched form changes
    nothing (and records nothing in the audit trail)."""
    return {k: v for k, v in body.items() if current.get(k) != v}


def typed(
    form: Mapping[str, str], names: Iterable[str], current: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The text fields ``names`` as typed, by the rules of REQUIRED and CLEARABLE."""
    body: dict[str, Any] = {}
    for name in names:
        value = form.get(name, "")
        if value or name in REQUIRED:
            body[name] = value
        elif current is not None and name in CLEARABLE:
            body[name] = None
    return body


def station_body(form: Mapping[str, str], current: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON of a new station (``current`` None) or of a station's update."""
    body = typed(form, STATION_FIELDS, current)
    return body if current is None else only_changes(body, current)


def station_values(state: Mapping[str, Any]) -> dict[str, str]:
    """A stored station as its form shows it."""
    return {name: str(state.get(name) or "") for name in STATION_FIELDS}


#: Each field's label on the AS2 Instance form (station.html): a refusal names it so.
STATION_LABELS = {"as2_id": "My AS2 ID", "name": "Name", "private_key_alias": "Private key alias",
                  "email": "Email"}  # fmt: skip
#: The PartnerShip form's two choices (partnership_new.html).
PARTNERSHIP_LABELS = {"station_id": "AS2 Instance (ours)", "partner_id": "Partner"}

#: pydantic's wording of the API's patterns, and what it means to the person typing.
PATTERNS = {
    ALIAS_PATTERN: "use 1 to 128 letters, digits and . _ @ - (no spaces), e.g. myco",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "must be an e-mail address, e.g. as2@example.com",
    r"^[^@\s]+@[^@\s]+$": "must be an e-mail address, e.g. as2@example.com",
    r"^[^\x00-\x1f]+$": "must be one line, without control characters",
    SHA256_HEX_PATTERN: "must be a SHA-256 in hex (64 digits 0-9 and a-f)",
}


def sentence(message: str, label: str | None = None) -> str:
    """An API message for people: "Value error, must be ..." → "must be ..."; a pattern said
    in words; any other wording of pydantic's as a sentence naming the field by its
    ``label`` ("Partner URL is required"), never as pydantic says it."""
    if "; " in message:  # several refusals of one field (adapters/backends.py joins them)
        said = [sentence(part, label) for part in message.split("; ")]
        return "; ".join(dict.fromkeys(said))
    for pattern, words in PATTERNS.items():
        if message == f"String should match pattern '{pattern}'":
            return words
    plain = pydantic_sentence(message, label or "This value")
    if plain is not None:
        return plain
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def place_errors(
    errors: Mapping[str, str],
    fields: Iterable[str],
    rename: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Refusals next to their fields; what belongs to no field of the form goes on top.
    ``rename`` maps an API field name to the form's when they differ; ``labels``, a form
    field's name to its label, which pydantic's refusals are said with."""
    known = set(fields)
    by_field: dict[str, str] = {}
    on_top: list[str] = []
    for key, message in errors.items():
        name = (rename or {}).get(key, key)
        said = sentence(message, (labels or {}).get(name) or key or None)
        if name in known:
            by_field[name] = said
        elif key and pydantic_sentence(message, key) is None:
            on_top.append(f"{key}: {said}")
        else:
            on_top.append(said)  # whole-form, or already naming its field
    return by_field, on_top


def certificate_in_use(certificates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The certificate a side signs or encrypts with now: the latest activated of the active
    ones (a rotation may have two), else the next pending one."""
    for state in ("active", "pending"):
        found = [c for c in certificates if c.get("state") == state]
        if found:
            return max(found, key=lambda c: str(c.get("activation_at") or ""))
    return None


def keystore_of(
    keystores: list[dict[str, Any]], station_as2_id: str, partner_as2_id: str
) -> dict[str, Any] | None:
    """cert-svc's keystore of a partnership, matched by both AS2 IDs (it knows no ids)."""
    pair = (station_as2_id, partner_as2_id)
    return next((k for k in keystores if (k["station_as2_id"], k["partner_as2_id"]) == pair), None)


def in_flight_refusal(page: Mapping[str, Any]) -> str | None:
    """Why a partnership cannot be deleted yet, from tracklog-svc's page of its outbound
    messages in flight (asked with ``limit=IN_FLIGHT_COUNTED``); None when there are none."""
    count = len(page.get("items") or [])
    if count == 0:
        return None
    many = f"more than {count}" if page.get("next_cursor") else str(count)
    messages = "message is" if count == 1 and not page.get("next_cursor") else "messages are"
    return (
        f"{many} {messages} still in flight on this partnership (queued, sending or waiting "
        "for a receipt): they must settle first (delivered or failed). Disable the partnership "
        "to stop new ones, then try again."
    )
