"""API tokens and their scopes from the settings (shared/web.py, shared/chassis.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from as2bus.shared.chassis import MissingSettingError, api_tokens
from as2bus.shared.settings import ServiceSettings
from as2bus.shared.web import Scope


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ServiceSettings:
    for name in ("AS2BUS_API_TOKEN", "AS2BUS_API_TOKENS", "AS2BUS_API_TOKENS_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ServiceSettings()


def test_each_token_has_its_scope_and_the_old_single_token_is_admin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = api_tokens(settings(monkeypatch, AS2BUS_API_TOKENS='{"read": ["r1", "r2"], '
                                 '"operate": ["o"]}', AS2BUS_API_TOKEN="old"))  # fmt: skip
    assert [tokens.scope_of(t) for t in ("r1", "r2", "o", "old", "nope", "")] == [
        Scope.READ, Scope.READ, Scope.OPERATE, Scope.ADMIN, None, None]  # fmt: skip


def test_digests_are_accepted_and_files_per_scope_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    digest = hashlib.sha256(b"secret-admin").hexdigest()
    (tmp_path / "admin").write_text(f"sha256:{digest}\n")
    (tmp_path / "read").write_text("reader\n")
    tokens = api_tokens(settings(monkeypatch, AS2BUS_API_TOKENS_DIR=str(tmp_path)))
    assert tokens.scope_of("secret-admin") == Scope.ADMIN
    assert tokens.scope_of(f"sha256:{digest}") is None  # the digest itself is no token
    assert tokens.scope_of("reader") == Scope.READ


def test_the_same_token_in_two_scopes_counts_for_the_higher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = '{"admin": ["t"], "read": ["t"]}'
    assert api_tokens(settings(monkeypatch, AS2BUS_API_TOKENS=env)).scope_of("t") == Scope.ADMIN


def test_no_token_or_an_unknown_scope_is_a_plain_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingSettingError, match=r"AS2BUS_API_TOKENS .* must be set"):
        api_tokens(settings(monkeypatch))
    with pytest.raises(MissingSettingError, match=r"unknown scopes \['write'\]"):
        api_tokens(settings(monkeypatch, AS2BUS_API_TOKENS='{"write": ["w"]}'))


def test_a_malformed_digest_is_a_plain_error_that_does_not_echo_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = '{"read": ["sha256:not-hex-secret-token"]}'
    with pytest.raises(MissingSettingError) as err:
        api_tokens(settings(monkeypatch, AS2BUS_API_TOKENS=env))
    assert "read API token entry starts with sha256: but is not 64 hex digits" in str(err.value)
    assert "not-hex-secret-token" not in str(err.value)
    short = '{"admin": ["sha256:abcd"]}'
    with pytest.raises(MissingSettingError, match="admin API token entry"):
        api_tokens(settings(monkeypatch, AS2BUS_API_TOKENS=short))
