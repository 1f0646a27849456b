"""The fixes the codec applies to pyas2lib/oscrypto, each checked on its own."""

from __future__ import annotations

import re

from as2bus.shared.as2 import _lib

VERSION = "OpenSSL 3.0.19 27 Jan 2026"


def test_oscryptos_version_pattern_needs_the_fix_for_two_digit_patch_numbers() -> None:
    assert re.search(_lib._OSCRYPTO_VERSION_PATTERN, VERSION) is None  # why the fix exists
    with _lib._two_digit_openssl_patch_versions():
        found = re.search(_lib._OSCRYPTO_VERSION_PATTERN, VERSION)
        assert found is not None
        assert found.group(1) == "3.0.19"
        assert re.search(r"\d+", "other patterns are untouched") is None
    assert re.search(_lib._OSCRYPTO_VERSION_PATTERN, VERSION) is None  # restored afterwards


def test_pyas2lib_decompression_is_the_bounded_one() -> None:
    assert _lib.pyas2.decompress_message is _lib._bounded_decompress


def test_exception_tracebacks_are_dropped_along_the_chain() -> None:
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as err:
        caught = err
    _lib.forget_traceback(caught)
    assert caught.__traceback__ is None
    assert caught.__cause__ is not None
    assert caught.__cause__.__traceback__ is None
