"""What config-svc's entrypoints use, built and installed by its lifespan (bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass

from as2bus.config.notifications import NotificationConfig
from as2bus.config.service import ConfigService
from as2bus.shared.wiring import Wiring


@dataclass(frozen=True)
class Components:
    service: ConfigService
    notifications: NotificationConfig


wiring = Wiring(Components, "config-svc")
