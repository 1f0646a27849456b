"""What tracklog-svc's entrypoints use, built and installed by its lifespan (bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass

from as2bus.shared.wiring import Wiring
from as2bus.tracklog.entrypoints.bus import Consumer
from as2bus.tracklog.hub import ChangeHub
from as2bus.tracklog.reads import Reads


@dataclass(frozen=True)
class Components:
    reads: Reads
    hub: ChangeHub
    consumer: Consumer
    consumer_name: str  # the durable's name, as configured


wiring = Wiring(Components, "tracklog-svc")
