"""What notify-svc's entrypoints use, built and installed by its lifespan (bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass

from as2bus.notify.channel_test import ChannelTester
from as2bus.notify.reads import Reads
from as2bus.shared.wiring import Wiring


@dataclass(frozen=True)
class Components:
    reads: Reads
    tester: ChannelTester


wiring = Wiring(Components, "notify-svc")
