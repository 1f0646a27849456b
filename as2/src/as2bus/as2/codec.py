"""The codec's functions, gathered for ``as2bus.as2`` (see its docstring).

Layout: ``message`` builds (``streaming`` is its name for outbound-svc), ``spooled`` parses
(``receive`` reads the addressing and assembles the result), ``mdn`` builds MDNs, ``mdn_read``
reads them, ``headers`` reads AS2 headers, ``mime`` is the binary-safe MIME layer, ``cms_write``
writes CMS and ``decrypt``/``verify`` read it (``cms`` is what both share), ``mic`` computes
MICs. All of it on ``cryptography``, with asn1crypto for the CMS structures it has no API for.
"""

from as2bus.as2.headers import summarize_request
from as2bus.as2.mdn import build_mdn
from as2bus.as2.mdn_read import is_mdn, parse_mdn
from as2bus.as2.message import build_message
from as2bus.as2.mic import compute_mic
from as2bus.as2.spooled import parse_message

__all__ = [
    "build_mdn",
    "build_message",
    "compute_mic",
    "is_mdn",
    "parse_mdn",
    "parse_message",
    "summarize_request",
]
