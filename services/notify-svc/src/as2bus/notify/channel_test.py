"""Use case: send a test notice through one channel now, and say whether it went."""

from __future__ import annotations

import uuid
from datetime import datetime

from as2bus.notify.ports import Sender, SetupSource
from as2bus.shared.errors import NotFoundError


class ChannelTester:
    def __init__(self, setup: SetupSource, senders: dict[str, Sender]) -> None:
        self._setup = setup
        self._senders = senders

    async def test(self, channel_id: uuid.UUID, now: datetime) -> str:
        """The channel's name once sent; DeliveryError (one sentence) when it was not."""
        channel = (await self._setup.current(fresh=True)).channels.get(str(channel_id))
        if channel is None:
            raise NotFoundError("notification channel", channel_id)
        sender = self._senders[str(channel.target["type"])]
        stamp = now.isoformat()
        payload = {
            "id": str(uuid.uuid4()), "kind": "test", "subject": channel.name, "state": "firing",
            "title": "TEST: as2bus notifications reach you",
            "summary": f"A test notice for channel {channel.name}, sent on request. Nothing "
            "needs doing: when something does, it is said here the same way.",
            "count": 0, "new_count": 0, "first_seen": stamp, "last_seen": stamp, "at": stamp,
            "rule": {"id": None, "name": "test"},
        }  # fmt: skip
        await sender.send(channel, payload)  # DeliveryError: the reason, for the caller
        return channel.name
