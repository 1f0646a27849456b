"""Help as plain text, laid out by click rather than by typer's rich panels.

typer's rich help is a table whose columns share the width: at 80 columns it cut option
names short ("--mdn-signing-…", the second name of a --x/--no-x pair) and broke hard-wrapped
docstrings mid-sentence. click's layout puts a long name on a line of its own and reflows the
text, so every name reads whole at any width.
"""

from __future__ import annotations

from typing import Any

import typer
import typer._click._textwrap as typer_textwrap
import typer._coercion as typer_coercion
import typer._display as typer_display
import typer._param_types as typer_param_types


class _WholeWords(typer_textwrap.TextWrapper):
    """click's wrapper, never breaking a word at its hyphen: "cert-svc", "--mdn-signature" or
    "application/edi-x12" cut over two lines reads as two words, and a copied one fails."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("break_on_hyphens", False)
        super().__init__(*args, **kwargs)


# typer lays help out with its own copy of click, whose wrap_text imports its TextWrapper from
# here each time it wraps a text. The help tests fail if a typer upgrade moves it.
typer_textwrap.TextWrapper = _WholeWords  # type: ignore[misc]

_typer_error_msg = typer_display.get_error_msg


def _plain_error_msg(exc: Any) -> str:
    """typer words a bad option value as pydantic does ("Value error, 'zlib' is not one of
    ..."): the prefix means nothing to people, so it goes, as from cert-svc's errors."""
    message = _typer_error_msg(exc)
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


# Both modules import the function by name; the error tests fail if a typer upgrade moves it.
typer_coercion.get_error_msg = _plain_error_msg  # type: ignore[attr-defined]
typer_param_types.get_error_msg = _plain_error_msg  # type: ignore[attr-defined]


def new_app(**settings: Any) -> typer.Typer:
    """A ``typer.Typer`` whose help (and usage errors) are plain text."""
    return typer.Typer(rich_markup_mode=None, **settings)


def format_commands_by_panel(group: Any, ctx: Any, formatter: Any) -> None:
    """A group's commands under their ``rich_help_panel`` titles, in the order given (plain
    help would otherwise list them all under "Commands")."""
    panels: dict[str, list[tuple[str, str]]] = {}
    width = formatter.width - 6 - max((len(name) for name in group.list_commands(ctx)), default=0)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        title = getattr(command, "rich_help_panel", None) or "Commands"
        panels.setdefault(title, []).append((name, command.get_short_help_str(width)))
    for title, rows in panels.items():
        with formatter.section(title):
            formatter.write_dl(rows)
