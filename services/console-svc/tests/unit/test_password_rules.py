"""A console password must be more than 12 characters: not only spaces, not one character
repeated, not the user's address or its name part, not a common password. The same rules for a
new user and a new password, through the users API (``as2bus user create`` / ``reset-password``)."""

from __future__ import annotations

from typing import Any

import pytest

from as2bus.console.domain.users import UserError, check_password, normalised_email

from .conftest import TOKEN, client

ADMIN_TOKEN = {"Authorization": f"Bearer {TOKEN}"}
REFUSED = {
    "spaces": ("            ", "only spaces"),
    "one character": ("aaaaaaaaaaaa", "one character repeated"),
    "the address": ("weak3@example.com", "e-mail address"),
    "the address, other case": ("Weak3@Example.com", "e-mail address"),
    "the name part": ("weak3-password-2026", "the part before its @"),
    "a common one": ("Password1234", "most common"),
}


@pytest.mark.parametrize(("password", "said"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_guessable_password_is_refused_in_one_sentence(password: str, said: str) -> None:
    with pytest.raises(UserError, match=said):
        check_password(password, "weak3@example.com")


def test_a_good_password_passes_and_a_short_name_part_is_no_rule() -> None:
    check_password("correct horse battery", "weak3@example.com")
    check_password("a long passphrase", "a@example.com")  # "a" is in most passwords


def test_an_address_needs_a_dot_in_its_domain_as_config_svc_asks() -> None:
    with pytest.raises(UserError, match="not an e-mail address"):
        normalised_email("a@b")
    assert normalised_email("a@b.example") == "a@b.example"


@pytest.mark.parametrize(("password", "said"), list(REFUSED.values()), ids=list(REFUSED))
async def test_the_users_api_refuses_them_for_a_new_user_and_a_new_password(
    app: Any, password: str, said: str
) -> None:
    async with client(app) as http:
        made = await http.post("/api/v1/users", headers=ADMIN_TOKEN, json={
            "email": "weak3@example.com", "role": "viewer", "password": password})  # fmt: skip
        assert made.status_code == 422
        assert said in made.json()["detail"]
        listed = await http.get("/api/v1/users", headers=ADMIN_TOKEN)
        assert "weak3@example.com" not in {u["email"] for u in listed.json()}
        theirs = password.replace("weak3", "viewer").replace("Weak3", "Viewer")
        reset = await http.post("/api/v1/users/viewer@example.com/password", headers=ADMIN_TOKEN,
                                json={"password": theirs})  # fmt: skip
        assert reset.status_code == 422
        assert said in reset.json()["detail"]


async def test_a_generated_password_passes_the_rules(app: Any) -> None:
    async with client(app) as http:
        made = await http.post("/api/v1/users", headers=ADMIN_TOKEN,
                               json={"email": "abc@example.com", "role": "viewer"})  # fmt: skip
        assert made.status_code == 201
        check_password(made.json()["password"], "abc@example.com")
