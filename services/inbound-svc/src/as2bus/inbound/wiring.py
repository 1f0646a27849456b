"""What inbound-svc's entrypoints use, built and installed by its lifespan (bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass

from as2bus.inbound.mdn_receipt import MdnReceiver
from as2bus.inbound.service import Receiver
from as2bus.shared.wiring import Wiring


@dataclass(frozen=True)
class Components:
    receiver: Receiver
    mdn_receiver: MdnReceiver


wiring = Wiring(Components, "inbound-svc")
