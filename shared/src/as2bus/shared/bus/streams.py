"""Declare the streams every service relies on. Safe to run from every replica at start."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from as2bus.contracts import subjects
from as2bus.shared.settings import StreamSettings

_STREAM_NAME_IN_USE = 10058


def stream_configs(settings: StreamSettings) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=subjects.EVENTS_STREAM,
            description="as2bus events (past tense facts), kept per the retention settings",
            subjects=[subjects.EVENTS_SUBJECTS],
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            max_age=settings.max_age_days * 86400 or None,
            max_bytes=settings.max_bytes or -1,
            max_msgs=settings.max_msgs or -1,
            storage=StorageType.FILE,
            num_replicas=settings.replicas,
            duplicate_window=subjects.DEDUP_WINDOW_SECONDS,
        ),
        StreamConfig(
            name=subjects.COMMANDS_STREAM,
            description="as2bus commands; each is consumed once by its owning service",
            subjects=list(subjects.COMMANDS_SUBJECTS),
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            num_replicas=settings.replicas,
            duplicate_window=subjects.DEDUP_WINDOW_SECONDS,
        ),
    ]


async def ensure_streams(js: JetStreamContext, settings: StreamSettings) -> None:
    """Create the streams, or bring an existing one's limits in line with the settings."""
    for config in stream_configs(settings):
        try:
            await js.add_stream(config)
        except BadRequestError as err:
            if err.err_code != _STREAM_NAME_IN_USE:
                raise
            await js.update_stream(config)
