"""Which failed messages a delivery settles: the delivered message and, when it is a resend,
the message it sends again, and that one's original in turn (a resend of a resend). The links
are forgotten once delivered: that chain is settled."""

from __future__ import annotations

from dataclasses import replace

from as2bus.notify.domain.conditions import Signal
from as2bus.notify.ports import Resends

#: Resends of resends followed at most this far (a loop in the links must not hang us).
LONGEST_CHAIN = 50


async def settled(resends: Resends, signal: Signal) -> Signal:
    """``signal`` naming every message it settles, when it is a delivery of failed messages'
    kind; any other signal as it is."""
    if signal.trouble or signal.kind != "message-failed" or not signal.messages:
        return signal
    chain = list(signal.messages)
    while len(chain) < LONGEST_CHAIN:
        original = await resends.original_of(chain[-1])
        if original is None or original in chain:
            break
        chain.append(original)
    for message_id in chain:
        await resends.delete(message_id)
    if len(chain) == 1:
        return signal
    detail = f"{signal.detail}, sent again for message {chain[-1]}"
    return replace(signal, messages=tuple(chain), detail=detail)
