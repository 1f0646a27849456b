"""Jinja filters for text a page shows: dates in a sentence, and URLs and file names that break
only where a reader expects. No I/O."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def whole_dates(text: str) -> Markup:
    """A sentence (escaped) with its dates as dates the page's script writes the way the
    browser's language does, like every time on the console (a notice's ISO date stood out
    among them), and kept on one line (a phone broke 2026-12-28 at a hyphen)."""
    pieces, dates = _ISO_DATE.split(text), _ISO_DATE.findall(text)
    kept = [Markup('<time class="date nowrap" datetime="{0}">{0}</time>').format(d)
            for d in dates] + [Markup()]  # fmt: skip
    return Markup().join(escape(piece) + date for piece, date in zip(pieces, kept, strict=True))


#: Where a URL or a file name may break: after each of these ("https://", "as2.", "-").
_BREAK_AFTER = re.compile(r"(?<=[.\-_?&=@])|(?<=[/:])(?!/)")  # "https://" stays whole
#: A piece longer than this between them may still break anywhere (a hash, a long number).
_WHOLE_UP_TO = 24


def breakable(text: str) -> Markup:
    """A URL or a file name (escaped) that a narrow column breaks after its separators rather
    than mid-word ("https://rd.exam" over "ple.com/as2"); only a piece too long for any line
    breaks inside (CSS ``.token``)."""
    raw = text.unescape() if isinstance(text, Markup) else str(text)  # a macro's output
    pieces = [p for p in _BREAK_AFTER.split(raw) if p]
    shown = [Markup('<span class="token">{}</span>').format(p) if _longest_word(p) > _WHOLE_UP_TO
             else escape(p) for p in pieces]  # fmt: skip
    return Markup("<wbr>").join(shown)


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)
