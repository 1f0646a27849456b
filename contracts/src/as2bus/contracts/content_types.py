"""What a document is, from its first bytes and its name: the content type a send goes with
when the sender names none. ``as2bus send`` and the console's Send File guess the same way, so
a file goes to the partner with the same label whichever way it is sent; partners route by it.

The guess, first rule that fits:

1. X12 (begins ``ISA``) -> ``application/edi-x12``
2. EDIFACT (begins ``UNA`` or ``UNB``) -> ``application/edifact``
3. XML (begins ``<?xml``, or the name ends ``.xml``) -> ``application/xml``
4. what the name's extension says (Python's built-in table, never the host's
   ``/etc/mime.types``: every machine guesses alike; a compressed file, ``.csv.gz``, is
   ``application/gzip``)
5. ``application/octet-stream``

What may be a content type at all is ``MIME_TYPE_PATTERN`` (``mime_type_problem`` says why not):
the send request contract refuses anything else, and ``as2bus send`` and the console ask it
before they send.

"Begins" allows a UTF-8 byte order mark and white space before. The segment tags count only
when followed by their separator (not a letter or digit): a text that begins "ISAAC" or
"UNBOUND" is not EDI. Pure code: the caller reads the first bytes (``HEAD_BYTES`` is enough).
"""

from __future__ import annotations

import codecs
import mimetypes
import re
from functools import cache

X12 = "application/edi-x12"
EDIFACT = "application/edifact"
XML = "application/xml"
UNKNOWN = "application/octet-stream"

#: A MIME type as a Content-Type header carries it: ``type/subtype`` of token characters (RFC
#: 7230's tchar, all within RFC 2045's token), optionally followed by ``; parameters`` without
#: control characters (a CR or LF would end the header and start another). Anchored, for JSON
#: Schema validators too.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
MIME_TYPE_PATTERN = rf"^{_TOKEN}/{_TOKEN}(?:[ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?$"
_SHOWN = 100  # characters of a refused value a sentence quotes


def mime_type_problem(value: str) -> str | None:
    """Why ``value`` cannot be a document's content type, in one sentence; None if it can."""
    if re.fullmatch(MIME_TYPE_PATTERN, value):
        return None
    shown = value if len(value) <= _SHOWN else value[:_SHOWN] + "..."
    return f"{shown!r} is not a MIME type (type/subtype, e.g. application/edi-x12)"


#: How many first bytes the guess looks at: room for a byte order mark and a few blank lines.
HEAD_BYTES = 1024

_SEGMENT_TAGS = {b"ISA": X12, b"UNA": EDIFACT, b"UNB": EDIFACT}
#: A compressed file is labelled as what it is, not as what it holds once unpacked.
_COMPRESSED = {"gzip": "application/gzip", "bzip2": "application/x-bzip2",
               "xz": "application/x-xz", "compress": "application/x-compress"}  # fmt: skip


def guess_content_type(filename: str | None, head: bytes) -> str:
    """The content type of a document named ``filename`` (None: no name) that begins with
    ``head`` (its first bytes, ``HEAD_BYTES`` of them or all of a shorter one)."""
    start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    tag, separator = start[:3], start[3:4]
    if tag in _SEGMENT_TAGS and separator and not separator.isalnum():
        return _SEGMENT_TAGS[tag]
    if start.startswith(b"<?xml"):
        return XML
    name = (filename or "").lower()
    if name.endswith(".xml"):
        return XML  # the table says text/xml: one XML type, whichever rule found it
    if name:
        by_extension, compression = _builtin_types().guess_type(name, strict=True)
        if compression:
            return _COMPRESSED.get(compression, UNKNOWN)
        if by_extension:
            return by_extension
    return UNKNOWN


@cache
def _builtin_types() -> mimetypes.MimeTypes:
    # A MimeTypes of its own holds Python's built-in table only; mimetypes.guess_type would
    # add the host's files (/etc/mime.types), and a container guesses differently than a laptop.
    return mimetypes.MimeTypes()
