"""The log lines made while a bus message is handled name what it is about.

Every message the services publish carries a ``correlation_id`` header (contracts/envelope.py):
the AS2 Message-ID for message and MDN events, a configuration entity's or certificate's id,
a request-reply's own id. For as long as a consumer handles the message, JSON log lines carry
it as ``message_id`` where it is one (``as2.evt.message.*`` and ``as2.evt.mdn.*``), else as
``correlation_id``: a field never holds an id of another kind under the Message-ID's name.
``as2.evt.message.any.rejected`` is the exception that stays ``correlation_id``: a send
request refused before it had a Message-ID carries its request_id there.

A message without the header (a send request from another system, usually) sets nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faststream import BaseMiddleware
from faststream.message import StreamMessage

from as2bus.contracts import MessageRejected
from as2bus.shared.logs import about

#: Subjects whose correlation id is the AS2 Message-ID (contracts/subjects.py names them).
MESSAGE_SUBJECTS = ("as2.evt.message.", "as2.evt.mdn.")
#: ... but not this one's, which may be a send request's request_id.
NOT_ALWAYS_A_MESSAGE = MessageRejected.subject


def log_fields(subject: str, headers: Mapping[str, str] | None) -> dict[str, str] | None:
    """What the log lines handling a message on ``subject`` name: ``{"message_id": ...}`` or
    ``{"correlation_id": ...}``, None when the message carries no correlation id."""
    correlation_id = headers.get("correlation_id") if headers else None
    if not correlation_id:
        return None
    if subject.startswith(MESSAGE_SUBJECTS) and subject != NOT_ALWAYS_A_MESSAGE:
        return {"message_id": correlation_id}
    return {"correlation_id": correlation_id}


def about_bus_message(
    subject: str, headers: Mapping[str, str] | None
) -> contextlib.AbstractContextManager[None]:
    """The block's log lines carry the ``log_fields`` of a message (for a consumer that reads
    NATS without faststream: tracklog-svc's)."""
    fields = log_fields(subject, headers)
    return contextlib.nullcontext() if fields is None else about(fields)


class MessageLogContext(BaseMiddleware[Any, Any]):
    """faststream middleware (``new_broker`` puts it on every broker): the consumed message's
    ``log_fields`` for the handler's log lines. faststream makes one per message."""

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        # A NATS message's subject; a key-value or object-store watch has none (and no header).
        fields = log_fields(getattr(msg.raw_message, "subject", ""), msg.headers)
        if fields is None:
            return await call_next(msg)
        with about(fields):
            return await call_next(msg)
