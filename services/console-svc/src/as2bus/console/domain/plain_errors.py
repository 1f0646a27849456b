"""pydantic's wording of a refusal, as the other services' 422 carries it ("String should have
at least 1 character", "Input should be greater than or equal to 1"), said for the person at
the form, naming the field by its label: "Partner Name is required", "Max attempts must be 1
or more". Matched on pydantic's message templates (the API gives the message, not its type);
the services' own sentences ("must be 1 to 128 characters long") are not pydantic's and stay
as they are. A message in pydantic's manner that no rule knows still never shows as such."""

from __future__ import annotations

import re
from collections.abc import Callable

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _choices(quoted: str) -> str:
    """ "'a', 'b' or 'c'" → "a, b or c"."""
    return quoted.replace("'", "")


def _schemes(quoted: str) -> str:
    schemes = [s.strip(" '") for s in re.split(r",| or ", quoted) if s.strip(" '")]
    if set(schemes) <= {"http", "https"}:
        return "must be an http:// or https:// address"
    return "must be an address starting with " + " or ".join(f"{s}://" for s in schemes)


def _at_least(count: str, what: str) -> str:
    return "is required" if count == "1" else f"must have at least {count} {what}"


_RULES: list[Rule] = [
    (re.compile(p), said)
    for p, said in (
        (r"Field required|Unable to extract tag using discriminator .*", lambda m: "is required"),
        (r"String should have at least (\d+) characters?",
         lambda m: _at_least(m[1], "characters")),
        (r"(?:String|URL) should have at most (\d+) characters?",
         lambda m: f"must be at most {m[1]} characters long"),
        (r"List should have at least (\d+) items?.*", lambda m: _at_least(m[1], "entries")),
        (r"List should have at most (\d+) items?.*", lambda m: f"must have at most {m[1]} entries"),
        (r"Input should be a valid URL, input is empty", lambda m: "is required"),
        (r"URL scheme should be (.+)", lambda m: _schemes(m[1])),
        (r"Input should be a valid URL.*",
         lambda m: "must be a full address, e.g. https://host.example/path"),
        (r"Input should be greater than or equal to (\S+)", lambda m: f"must be {m[1]} or more"),
        (r"Input should be greater than (\S+)", lambda m: f"must be more than {m[1]}"),
        (r"Input should be less than or equal to (\S+)", lambda m: f"must be {m[1]} or less"),
        (r"Input should be less than (\S+)", lambda m: f"must be less than {m[1]}"),
        (r"Input should be a valid integer.*", lambda m: "must be a whole number"),
        (r"Input should be (?:a valid|a finite) number.*", lambda m: "must be a number"),
        (r"Input should be a valid boolean.*", lambda m: "must be yes or no"),
        (r"Input should be a valid UUID.*", lambda m: "must be one of those offered"),
        (r"Input should be a valid (?:datetime|date|time).*",
         lambda m: "must be a date and time"),
        (r"Input should be ('.*')", lambda m: f"must be one of {_choices(m[1])}"),
        (r"Input tag .* does not match any of the expected tags: (.*)",
         lambda m: f"must be one of {_choices(m[1])}"),
        (r"String should match pattern .*", lambda m: "has characters it cannot have"),
        (r"Extra inputs are not permitted", lambda m: "is not a setting here"),
        # Anything else in pydantic's manner ("Input should be a valid list"...).
        (r"(?:Input|String|URL|List|Value|Decimal|Dictionary|Object|Tuple|Set) should .*",
         lambda m: "is not a value it takes"),
    )
]  # fmt: skip


def pydantic_sentence(message: str, label: str) -> str | None:
    """``message`` as a sentence about the field ``label``; None when it is not pydantic's
    wording (a service's own sentence, to show as it is)."""
    for pattern, said in _RULES:
        found = pattern.fullmatch(message.strip())
        if found:
            return f"{label} {said(found)}"
    return None
