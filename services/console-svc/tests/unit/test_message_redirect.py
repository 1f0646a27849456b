"""A message the partner redirected: the console's message page says, in the attempt's
outcome, where it was finally posted (SendAttempt.posted_to); without a redirect, nothing."""

from __future__ import annotations

from typing import Any

from .conftest import client, fakes_of, sign_in
from .test_message_page import delivered

NEW = "https://as2.acme.example/new"


async def test_the_attempt_says_where_a_redirect_took_the_message(app: Any) -> None:
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["m1"] = delivered(fakes_of(app).documents, posted_to=NEW)
    tracklog.details["m2"] = delivered(fakes_of(app).documents)
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        redirected = (await http.get("/tracklog/m1")).text
        direct = (await http.get("/tracklog/m2")).text
    assert f"the partner took it (MDN sync), posted to {NEW} after a redirect" in redirected
    assert "after a redirect" not in direct
