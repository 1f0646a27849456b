"""A generated password (Create user, Reset password) is shown once, on the page the form
redirects to: reloading that page neither shows it again nor makes another password (the
form answered with the password itself, and a reload posted it again: the password already
handed over stopped working)."""

from __future__ import annotations

import re
from typing import Any

from as2bus.console.adapters.passwords import verify_password
from as2bus.console.domain.roles import Role
from as2bus.console.wiring import wiring

from .conftest import client, csrf_of, sign_in

SHOWN = re.compile(r'<code class="password">([^<]+)</code>')


async def password_hash(app: Any, email: str) -> str | None:
    users = await wiring.of(app).user_admin.users()
    return next(u.password_hash for u in users if u.email == email)


async def audited_resets(app: Any, email: str) -> int:
    entries = await wiring.of(app).audit_trail.entries(entity="user", text=email)
    return sum(1 for e in entries if "secret password" in e.changes)


async def test_a_reset_password_is_shown_once_and_a_reload_resets_nothing(app: Any) -> None:
    async with client(app) as admin:
        await sign_in(admin, "admin@example.com")
        csrf = csrf_of((await admin.get("/users")).text)
        posted = await admin.post("/users/viewer@example.com/password", data={"csrf": csrf})
        assert posted.status_code == 303  # the password is not in the POST's answer
        assert not SHOWN.search(posted.text)
        shown_at = posted.headers["location"]
        first = await admin.get(shown_at)
        assert first.status_code == 200
        assert first.headers["cache-control"] == "no-store"
        found = SHOWN.search(first.text)
        assert found is not None
        password = found.group(1)
        hashed = await password_hash(app, "viewer@example.com")
        assert verify_password(hashed, password)

        again = await admin.get(shown_at)  # the reload
        assert again.status_code == 200
        assert not SHOWN.search(again.text)
        assert password not in again.text
        said = ("The password of viewer@example.com was shown once already and is not kept. To "
                "give them another one, use Reset password… on their row.")  # fmt: skip
        assert said in again.text
    # One POST, one new password: the one handed over still signs in.
    assert await password_hash(app, "viewer@example.com") == hashed
    assert await audited_resets(app, "viewer@example.com") == 1


async def test_a_new_users_password_is_shown_once_and_a_reload_creates_nothing(app: Any) -> None:
    async with client(app) as admin:
        await sign_in(admin, "admin@example.com")
        csrf = csrf_of((await admin.get("/users")).text)
        posted = await admin.post("/users", data={"csrf": csrf, "email": "new@example.com",
                                                  "role": "operator"})  # fmt: skip
        assert posted.status_code == 303
        first = await admin.get(posted.headers["location"])
        assert "new@example.com created as operator." in first.text
        found = SHOWN.search(first.text)
        assert found is not None
        assert verify_password(await password_hash(app, "new@example.com"), found.group(1))
        again = await admin.get(posted.headers["location"])
        assert not SHOWN.search(again.text)
        assert "there is already a user" not in again.text
        assert "The password of new@example.com was shown once already" in again.text


async def test_only_the_admin_who_made_it_sees_it(app: Any) -> None:
    await wiring.of(app).accounts.create_user(
        "other@example.com", Role.ADMIN, "correct horse battery"
    )
    async with client(app) as admin, client(app) as other:
        await sign_in(admin, "admin@example.com")
        await sign_in(other, "other@example.com")
        csrf = csrf_of((await admin.get("/users")).text)
        posted = await admin.post("/users/viewer@example.com/password", data={"csrf": csrf})
        looked = await other.get(posted.headers["location"])
        assert not SHOWN.search(looked.text)
        assert "That password is not shown any more" in looked.text
        mine = await admin.get(posted.headers["location"])  # still there for its admin
        assert SHOWN.search(mine.text)


async def test_an_admins_own_reset_is_shown_on_the_answer_since_it_signs_them_out(app: Any) -> None:
    async with client(app) as admin:
        await sign_in(admin, "admin@example.com")
        csrf = csrf_of((await admin.get("/users")).text)
        posted = await admin.post("/users/admin@example.com/password", data={"csrf": csrf})
        # A redirect would lead to the sign-in form, which needs the password it was to show.
        assert posted.status_code == 200
        found = SHOWN.search(posted.text)
        assert found is not None
        assert verify_password(await password_hash(app, "admin@example.com"), found.group(1))
        assert (await admin.get("/users")).status_code == 303  # signed out: a reload resets nothing
