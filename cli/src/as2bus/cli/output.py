"""Printing: compact tables for lists, ``key: value`` lines for one entry, JSON on request."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import typer

Column = tuple[str, Callable[[dict[str, Any]], Any]]

#: C0 and C1 control characters and DEL, and Unicode's bidirectional controls (a
#: right-to-left override shows "invoice\u202efdp.exe" as "invoiceexe.pdf").
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(value: str) -> str:
    """``value`` with each control character written out (``\\x1b``, ``\\n``): a file
    name, subject or reason a partner chose must not reach the terminal as an escape
    sequence (colours, a window title, a link, hidden text) or break a line of a table."""
    return _CONTROLS.sub(lambda found: ascii(found.group())[1:-1], value)


def text(value: Any) -> str:
    """One cell or value as people read it, control characters written out (``printable``)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(text(v) for v in value) or "-"
    return printable(str(value))


def clipped(value: str | None, width: int) -> str | None:
    """``value`` in at most ``width`` characters: cut after a whole word, with an ellipsis
    ("... at 2026-" told a date that was not there); a single word longer than that, cut."""
    if not value or len(value) <= width:
        return value or None
    cut = value[: width - 1]
    if value[width - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:(") + "…"


def flatten(entry: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"http_auth": {"type": "basic"}}`` → ``[("http_auth.type", "basic")]``."""
    pairs: list[tuple[str, Any]] = []
    for key, value in entry.items():
        if isinstance(value, dict):
            pairs.extend(flatten(value, f"{prefix}{key}."))
        else:
            pairs.append((f"{prefix}{key}", value))
    return pairs


def render_record(entry: dict[str, Any]) -> str:
    pairs = flatten(entry)
    width = max((len(key) for key, _ in pairs), default=0)
    return "\n".join(f"{key + ':':<{width + 1}} {text(value)}" for key, value in pairs)


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    cells = [[title for title, _ in columns]]
    cells += [[text(get(row)) for _, get in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False))


def show(data: dict[str, Any], as_json: bool) -> None:
    """One entry: JSON, or aligned ``key: value`` lines."""
    if as_json:
        print_json(data)
    else:
        typer.echo(render_record(data))


def table(rows: list[dict[str, Any]], columns: Sequence[Column], as_json: bool, empty: str) -> None:
    """A list: JSON, a table, or the ``empty`` hint when there is nothing."""
    if as_json:
        print_json(rows)
    elif not rows:
        typer.echo(empty)
    else:
        typer.echo(render_table(rows, columns))


def done(message: str, data: dict[str, Any], as_json: bool) -> None:
    """The outcome of an action: a sentence for people, the entry for machines."""
    if as_json:
        print_json(data)
    else:
        typer.echo(message)
