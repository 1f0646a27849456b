"""The audit trail says who signed in and out, who failed to (the address tried and where from,
never the password typed), who was locked out, and who downloaded a keystore with our private
key; an unknown address costs the same password check as a known one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from as2bus.console.adapters.backends import File
from as2bus.console.domain.roles import Role
from as2bus.console.wiring import wiring

from .cert_fakes import KEYSTORE, cert_fakes_of, install_fakes, keystore_view
from .conftest import _console, audit_rows, client, csrf_of, sign_in, via

GUESSER = "203.0.113.7"


async def _try(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    form = await http.get("/login")
    typed = {"email": email, "password": password, "csrf": csrf_of(form.text)}
    return await http.post("/login", data=typed)


async def test_sign_ins_their_failures_a_lockout_and_sign_outs_are_on_the_audit_page(
    app: Any,
) -> None:
    async with via(app, GUESSER) as guesser:
        for _ in range(5):
            assert (await _try(guesser, "viewer@example.com", "a-wrong-guess!")).status_code == 401
        assert (await _try(guesser, "viewer@example.com", "another guess")).status_code == 401
        # Hammering on: counted, not written (one "refused" entry per wait).
        assert (await _try(guesser, "viewer@example.com", "and another")).status_code == 401
        assert (await _try(guesser, "nobody@example.com", "a-wrong-guess!")).status_code == 401
    async with via(app, "198.51.100.9") as owner:
        assert (await _try(owner, "viewer@example.com", "correct horse battery")).status_code == 303
        page = await owner.get("/")
        signed_out = await owner.post("/logout", data={"csrf": csrf_of(page.text)})
        assert signed_out.status_code == 303

    rows = await audit_rows(app, entity="sign-in", q="viewer@")
    assert rows == [
        "viewer@example.com sign-in viewer@example.com signed out From: 198.51.100.9",
        "viewer@example.com sign-in viewer@example.com signed in From: 198.51.100.9",
        f"someone at {GUESSER} sign-in viewer@example.com refused From: {GUESSER}",
        f"someone at {GUESSER} sign-in viewer@example.com locked out From: {GUESSER}",
        *[f"someone at {GUESSER} sign-in viewer@example.com failed From: {GUESSER}"] * 4,
    ]
    unknown = await audit_rows(app, entity="sign-in", q="nobody@")
    assert unknown == [f"someone at {GUESSER} sign-in nobody@example.com failed From: {GUESSER}"]
    everything = " ".join(await audit_rows(app))
    assert "a-wrong-guess!" not in everything  # never a password typed


async def test_a_client_trying_address_after_address_is_stopped_and_leaves_bounded_rows(
    tmp_path: Path,
) -> None:
    """Per client address, whatever e-mail address is typed: made-up addresses, each a row of
    the audit trail and of the failure counts, stop at AS2BUS_CONSOLE_SIGN_IN_ADDRESS_ATTEMPTS
    a window. The client's owner elsewhere and other clients are not touched, and counts
    whose window is over are dropped."""
    app = await _console(tmp_path / "c.db", AS2BUS_CONSOLE_SIGN_IN_ADDRESS_ATTEMPTS=3)
    accounts = wiring.of(app).accounts
    await accounts.create_user("admin@example.com", Role.ADMIN, "correct horse battery")
    await accounts.create_user("viewer@example.com", Role.VIEWER, "correct horse battery")
    async with via(app, GUESSER) as guesser:
        answers = [await _try(guesser, f"made-up-{n}@example.com", "guess") for n in range(6)]
        # The right password for a real account does not get through either, from there.
        answers.append(await _try(guesser, "viewer@example.com", "correct horse battery"))
    assert [a.status_code for a in answers] == [401] * 7
    assert "wrong e-mail address or password" in answers[2].text
    assert "too many failed sign-ins: wait 15 minutes" in answers[3].text
    async with via(app, "198.51.100.9") as owner:
        assert (await _try(owner, "viewer@example.com", "correct horse battery")).status_code == 303

    rows = [r for r in await audit_rows(app, entity="sign-in") if GUESSER in r]
    assert rows == [
        f"someone at {GUESSER} sign-in made-up-3@example.com refused From: {GUESSER}",
        f"someone at {GUESSER} sign-in made-up-2@example.com locked out From: {GUESSER}",
        f"someone at {GUESSER} sign-in made-up-1@example.com failed From: {GUESSER}",
        f"someone at {GUESSER} sign-in made-up-0@example.com failed From: {GUESSER}",
    ]

    repository = wiring.of(app).accounts._repo
    assert await repository.failures(f"*|{GUESSER}") == (7, _ANY_TIME)  # refusals count
    later = datetime.now(UTC) + timedelta(minutes=16)
    await repository.forget_failures(before=later - timedelta(minutes=15))
    assert await repository.failures(f"*|{GUESSER}") == (0, None)
    assert await repository.failures(f"made-up-0@example.com|{GUESSER}") == (0, None)


class _AnyTime:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, datetime)


_ANY_TIME: Any = _AnyTime()


@pytest.fixture
async def certs_app(app: Any) -> Any:
    return await install_fakes(app)


async def test_a_keystore_download_with_our_private_key_is_on_the_audit_page(
    certs_app: Any,
) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()
    base = f"/api/v1/keystores/{KEYSTORE}"
    cert.files[f"{base}/keystore.p12"] = File(b"\x30\x82p12", "application/x-pkcs12", "k.p12")
    cert.files[f"{base}/certificate.cer"] = File(b"-----BEGIN", "application/x-pem-file", "c.cer")
    async with client(certs_app) as http:
        await sign_in(http, "admin@example.com")
        assert (await http.get(f"/certificates/{KEYSTORE}/keystore.p12")).status_code == 200
        assert (await http.get(f"/certificates/{KEYSTORE}/certificate.cer")).status_code == 200
    rows = await audit_rows(certs_app, entity="keystore")
    assert rows == ["admin@example.com keystore MYCO → ACME exported File: keystore.p12"]


async def test_an_unknown_address_costs_the_same_password_check(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a timing test: the argon2 check runs for an address with no account as for one with
    an account, with the same cost parameters."""
    checked: list[str] = []
    verify = PasswordHasher.verify

    def counted(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        checked.append(str(hash).rsplit("$", 2)[0])  # "$argon2id$v=19$m=…,t=…,p=…"
        return verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    async with client(app) as http:
        assert (await _try(http, "viewer@example.com", "a-wrong-guess!")).status_code == 401
        assert (await _try(http, "nobody@example.com", "a-wrong-guess!")).status_code == 401
    known, unknown = checked
    assert known == unknown
