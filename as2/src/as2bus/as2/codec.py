"""The codec's functions, gathered for ``as2bus.as2`` (see its docstring).

Layout: ``message`` builds, ``receive`` parses, ``mdn`` builds MDNs, ``mdn_read`` reads them,
``headers`` reads AS2 headers, ``mime`` is the binary-safe MIME layer, ``cms`` the CMS layer
(``cryptography`` signs, pyas2lib encrypts and compresses; asn1crypto, oscrypto and
``cryptography`` read), ``mic`` computes MICs, and ``_pyas2lib`` is the only module that
imports pyas2lib and oscrypto.
"""

from as2bus.as2.headers import summarize_request
from as2bus.as2.mdn import build_mdn
from as2bus.as2.mdn_read import is_mdn, parse_mdn
from as2bus.as2.message import build_message
from as2bus.as2.mic import compute_mic
from as2bus.as2.receive import parse_message

__all__ = [
    "build_mdn",
    "build_message",
    "compute_mic",
    "is_mdn",
    "parse_mdn",
    "parse_message",
    "summarize_request",
]
