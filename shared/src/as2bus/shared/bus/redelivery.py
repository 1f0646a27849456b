"""Handle a JetStream message again later when handling it failed, instead of dropping it.

faststream's default for a failing handler is to *reject* the message, and a reject is
JetStream's ``term``: the message is never delivered to that consumer again. On the commands
work queue that deletes the command outright: a send request that arrived while the database
was away was lost without a word (``make chaos``, the PostgreSQL kill). A plain ``nak`` is no
better the other way: the message comes back at once, thousands of times a second.

``redelivered_later`` naks with a delay that grows with each delivery (up to a ceiling) and
logs one line per failure. It never gives up: what fails here is what the handler could not
do *now* (a database or store away, a message it is not ready for); a message that can never
be handled is refused by the handler itself, with a reason (a MessageRejected), not by
raising.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream import ContextRepo
from faststream.exceptions import HandlerException, NackMessage

from as2bus.shared.logs import one_line

log = logging.getLogger("as2bus.bus")

FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 30.0


def delay_for(delivery: int) -> float:
    """Seconds before delivery number ``delivery + 1``: 0.5, 1, 2, 4, ... up to 30."""
    exponent = min(max(delivery, 1) - 1, 16)
    return min(FIRST_DELAY_SECONDS * float(2**exponent), MAX_DELAY_SECONDS)


@asynccontextmanager
async def redelivered_later(
    context: ContextRepo, what: str, *, not_yet: tuple[type[Exception], ...] = ()
) -> AsyncIterator[None]:
    """Run a handler's body; if it raises, nak the message being handled with a delay.

    ``context`` is the broker's (``broker.context``): faststream keeps the message being
    handled there, read only on failure, so the usual path costs nothing. ``what`` names the
    handling in the log line ("a send request", ...). ``not_yet``: the exceptions that say a
    message came early (an async MDN that overtook the commit of its own message), logged at
    INFO as nothing is wrong; redelivered the same way."""
    try:
        yield
    except HandlerException:
        raise  # an explicit ack, nak or reject from the handler: faststream's to carry out
    except Exception as err:
        delivery = _delivery_count(context)
        delay = delay_for(delivery)
        level = logging.INFO if isinstance(err, not_yet) else logging.WARNING
        log.log(
            level,
            "%s could not be handled (delivery %d), again in %g s: %s",
            what,
            delivery,
            delay,
            one_line(err),
        )
        raise NackMessage(delay=delay) from err


def _delivery_count(context: ContextRepo) -> int:
    message = context.get_local("message")
    raw = getattr(message, "raw_message", None)
    metadata = getattr(raw, "metadata", None)
    return int(getattr(metadata, "num_delivered", None) or 1)
