"""The admin API of notification channels and rules: thin translators to the use cases."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, status

from as2bus.config.notification_schemas import ChannelCreate, ChannelUpdate, RuleCreate, RuleUpdate
from as2bus.config.notifications import NotificationConfig
from as2bus.config.wiring import wiring
from as2bus.contracts.notifications import NotificationChannelState, NotificationRuleState
from as2bus.shared.web import Scope, scoped_routers


def get_notifications(request: Request) -> NotificationConfig:
    return wiring.get(request).notifications


Notifications = Annotated[NotificationConfig, Depends(get_notifications)]
CHANNELS, RULES = "/notification-channels", "/notification-rules"

routers = scoped_routers("/api/v1")
read = routers[Scope.READ]
admin = routers[Scope.ADMIN]


@read.get(CHANNELS, tags=["notifications"])
async def list_channels(service: Notifications) -> list[NotificationChannelState]:
    return await service.list_channels()


@admin.post(CHANNELS, status_code=status.HTTP_201_CREATED, tags=["notifications"])
async def create_channel(body: ChannelCreate, service: Notifications) -> NotificationChannelState:
    return await service.create_channel(body)


@read.get(CHANNELS + "/{channel_id}", tags=["notifications"])
async def get_channel(channel_id: uuid.UUID, service: Notifications) -> NotificationChannelState:
    return await service.get_channel(channel_id)


@admin.patch(CHANNELS + "/{channel_id}", tags=["notifications"])
async def update_channel(
    channel_id: uuid.UUID, body: ChannelUpdate, service: Notifications
) -> NotificationChannelState:
    return await service.update_channel(channel_id, body)


@admin.delete(
    CHANNELS + "/{channel_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["notifications"]
)
async def delete_channel(channel_id: uuid.UUID, service: Notifications) -> None:
    await service.delete_channel(channel_id)


@read.get(RULES, tags=["notifications"])
async def list_rules(service: Notifications) -> list[NotificationRuleState]:
    return await service.list_rules()


@admin.post(RULES, status_code=status.HTTP_201_CREATED, tags=["notifications"])
async def create_rule(body: RuleCreate, service: Notifications) -> NotificationRuleState:
    return await service.create_rule(body)


@read.get(RULES + "/{rule_id}", tags=["notifications"])
async def get_rule(rule_id: uuid.UUID, service: Notifications) -> NotificationRuleState:
    return await service.get_rule(rule_id)


@admin.patch(RULES + "/{rule_id}", tags=["notifications"])
async def update_rule(
    rule_id: uuid.UUID, body: RuleUpdate, service: Notifications
) -> NotificationRuleState:
    return await service.update_rule(rule_id, body)


@admin.delete(RULES + "/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["notifications"])
async def delete_rule(rule_id: uuid.UUID, service: Notifications) -> None:
    await service.delete_rule(rule_id)
