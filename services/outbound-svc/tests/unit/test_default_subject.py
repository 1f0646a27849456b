"""A send request that names no subject takes its partner's default subject (OpenAS2's
per-partnership subject), else "AS2 Message"; one that names a subject keeps it. The subject
is settled when the request is accepted, so a retry sends what was accepted."""

from __future__ import annotations

import pytest

from as2bus.contracts import MessageQueued

from .test_sending import accepted, claimed, request
from .world import outbound


@pytest.mark.parametrize(
    ("asked", "partners_default", "sent"),
    [
        (None, "EDI 850 from MyCo", "EDI 850 from MyCo"),
        ("Rush order 4711", "EDI 850 from MyCo", "Rush order 4711"),
        (None, None, "AS2 Message"),
        ("", "EDI 850 from MyCo", ""),  # asked for as empty: an empty Subject, as before
    ],
)
async def test_the_subject_is_the_requests_else_the_partners_default(
    asked: str | None, partners_default: str | None, sent: str
) -> None:
    world = outbound(default_subject=partners_default)
    message = await accepted(world, request().model_copy(update={"subject": asked}))
    assert message.subject == sent
    (queued,) = world.store.of_type(MessageQueued)  # the track log shows it before any POST
    assert queued.data.subject == sent

    # Changed after acceptance, the partner's default does not change an accepted message.
    (acme,) = world.replica.partners.values()
    world.replica.partners[acme.id] = acme.model_copy(update={"default_subject": "Later"})
    assert await world.sender.send(await claimed(world, message)) == "delivered"
    ((headers, _body),) = world.partner.posted
    assert headers["Subject"] == sent
