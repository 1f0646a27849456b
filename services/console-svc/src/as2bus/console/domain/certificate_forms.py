"""What the certificate forms hold, read for cert-svc: the switch time typed in the browser's
time zone, the overlap window in days, and cert-svc's refusals put next to the form's fields
with what was typed, so that a refused form comes back filled in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from as2bus.console.domain.config_forms import sentence

#: An overlap longer than this is surely a typo (cert-svc's default switchover is 7 days).
MAX_OVERLAP_DAYS = 365
#: How far back a switch time may be (cert-svc allows as much): a time typed as "now" and sent
#: a few minutes later. Further back, the new certificate would have been in use since then and
#: the overlap, counted from the switch, would retire the previous one early.
SWITCH_TOLERANCE = timedelta(minutes=5)
PASSED = "that time has passed: give a time from now on, or leave it empty to switch now"


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class FormProblems:
    """The refusal of one form of a page: sentences by field ("" for the whole form), and
    what was typed in its fields (never a password or a file), to show them again."""

    form: str = ""  # which form of the page was sent
    errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)

    def of(self, form: str, name: str) -> str:
        return self.errors.get(name, "") if form == self.form else ""

    def value(self, form: str, name: str, default: str = "") -> str:
        """What ``form``'s field shows: as typed when that form was refused, else ``default``."""
        return self.typed.get(name, default) if form == self.form else default


def local_time(value: str, offset_minutes: str | None) -> datetime | None:
    """A ``datetime-local`` value (2026-12-04T10:30) in the browser's zone, whose offset the
    page's script puts in the form (``getTimezoneOffset()``: UTC minus local, in minutes);
    without the script it is read as UTC, as the form says. None when empty."""
    value = value.strip()
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
        minutes = int(offset_minutes or 0)
        zone = timezone(-timedelta(minutes=minutes))
    except ValueError:
        raise FormError("activation_at", "give a date and time, e.g. 2026-12-04 10:30") from None
    if naive.tzinfo is not None:  # typed with a zone by hand: take it as given
        return naive
    return naive.replace(tzinfo=zone)


@dataclass(frozen=True)
class Switch:
    """When a new certificate takes over, and until when the previous ones stay accepted;
    None leaves it to cert-svc (now; activation + its switchover window)."""

    activation_at: datetime | None
    retire_previous_at: datetime | None

    def takes_over_now(self, now: datetime) -> bool:
        return self.activation_at is None or self.activation_at <= now

    def form_fields(self) -> dict[str, str]:
        """The fields cert-svc's forms and JSON bodies take, the unset ones left out."""
        found = {"activation_at": self.activation_at,
                 "retire_previous_at": self.retire_previous_at}  # fmt: skip
        return {k: v.isoformat() for k, v in found.items() if v is not None}


def switch(activation: str, overlap_days: str, tz: str | None, now: datetime) -> Switch:
    """The switch the form asks for: never in the past, the overlap counted from the switch."""
    activation_at = local_time(activation, tz)
    if activation_at is not None and activation_at < now - SWITCH_TOLERANCE:
        raise FormError("activation_at", PASSED)
    overlap = overlap_days.strip()
    if not overlap:
        return Switch(activation_at, None)
    try:
        days = float(overlap)
    except ValueError:
        raise FormError("overlap_days", "give the overlap window as a number of days") from None
    if not 0 <= days <= MAX_OVERLAP_DAYS:
        raise FormError("overlap_days", f"the overlap window is 0 to {MAX_OVERLAP_DAYS} days")
    # "Now" goes to cert-svc as this very time: its own "now", a moment later, would make an
    # overlap of 0 end before the switch, and cut any other one short.
    activation_at = activation_at or now
    return Switch(activation_at, activation_at + timedelta(days=days))


#: cert-svc's field names where the console's forms call them otherwise.
_FORM_FIELDS = {"retire_previous_at": "overlap_days", "retirement_at": "overlap_days"}
#: The certificate forms' fields as their labels name them, for cert-svc's refusals in
#: pydantic's words ("Valid for (days) must be 3650 or less").
LABELS = {
    "partner_cert_alias": "Partner certificate alias", "private_key_alias": "Private key alias",
    "password": "Password", "key_alias": "Alias of the private key entry",
    "file": "PKCS#12 file", "partner_file": "Partner certificate", "own_key": "Our key",
    "activation_at": "Switch time", "overlap_days": "Overlap window",
    "key_bits": "Key size", "validity_days": "Valid for (days)",
}  # fmt: skip


def problems(
    form: str,
    errors: dict[str, str],
    fields: tuple[str, ...],
    renamed: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> FormProblems:
    """cert-svc's refusal by the console form's field names (``renamed``: this call's own):
    next to one of the form's ``fields``, else above the form; with what was ``typed``."""
    names = {**_FORM_FIELDS, **(renamed or {})}
    placed: dict[str, str] = {}
    for name, message in errors.items():
        key = names.get(name, name)
        said = sentence(message, LABELS.get(key) or name or None)
        key = key if key in fields else ""
        placed[key] = f"{placed[key]}; {said}" if key in placed else said
    return FormProblems(form, placed, typed or {})
