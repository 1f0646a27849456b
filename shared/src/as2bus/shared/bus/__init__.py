"""Bus helpers: connect, declare streams, publish with dedup, follow configuration."""

from as2bus.shared.bus.connection import Bus, inbox_prefix, new_broker, open_bus
from as2bus.shared.bus.publish import publish_event
from as2bus.shared.bus.streams import ensure_streams, stream_configs

__all__ = [
    "Bus",
    "ensure_streams",
    "inbox_prefix",
    "new_broker",
    "open_bus",
    "publish_event",
    "stream_configs",
]
