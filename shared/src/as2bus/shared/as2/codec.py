"""The codec's functions, gathered for ``as2bus.shared.as2`` (see its docstring)."""

from as2bus.shared.as2.headers import summarize_request
from as2bus.shared.as2.mdn import build_mdn, is_mdn, parse_mdn
from as2bus.shared.as2.message import build_message, parse_message
from as2bus.shared.as2.mic import compute_mic

__all__ = [
    "build_mdn",
    "build_message",
    "compute_mic",
    "is_mdn",
    "parse_mdn",
    "parse_message",
    "summarize_request",
]
