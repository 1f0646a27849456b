"""The configuration pages: AS2 Instances (our stations), Partner, PartnerShip and
Notifications (channels and rules), each in its own module; this router gathers them for
bootstrap.py."""

from __future__ import annotations

from fastapi import APIRouter

from as2bus.console.entrypoints import (
    config_notification_rules,
    config_notifications,
    config_partners,
    config_partnerships,
    config_stations,
)

router = APIRouter()
router.include_router(config_stations.router)
router.include_router(config_partners.router)
router.include_router(config_partnerships.router)
router.include_router(config_notifications.router)
router.include_router(config_notification_rules.router)
