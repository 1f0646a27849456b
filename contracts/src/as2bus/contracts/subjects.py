"""Names on the bus. These are contracts: change them only with a new version.

Events: ``as2.evt.<context>.<entity>.<fact>`` on the ``AS2_EVENTS`` stream (limits retention).
Commands: ``as2.cmd.<verb>`` on the ``AS2_COMMANDS`` stream (work-queue retention: each command
is consumed once by one replica of the service that owns it). The stream takes the known
command subjects only, so a publish to a misspelt one fails at once (no stream answers it)
instead of waiting in the queue for a consumer that will never come.
"""

from __future__ import annotations

EVENTS_STREAM = "AS2_EVENTS"
EVENTS_SUBJECTS = "as2.evt.>"
COMMANDS_STREAM = "AS2_COMMANDS"
#: Send one document to a partner (SendRequest, owned by outbound-svc).
SEND_SUBJECT = "as2.cmd.send"
#: Every command subject there is: the commands stream takes these and nothing else.
COMMANDS_SUBJECTS: tuple[str, ...] = (SEND_SUBJECT,)

#: Key-value bucket that config-svc keeps equal to its current, non-secret configuration.
CONFIG_BUCKET = "as2_config"

#: How long JetStream remembers a Nats-Msg-Id to drop a duplicate publish.
DEDUP_WINDOW_SECONDS = 120.0


def event_subject(context: str, entity: str, fact: str) -> str:
    return f"as2.evt.{context}.{entity}.{fact}"


def config_key(entity: str, entity_id: str) -> str:
    """KV key for one configuration entity (ids are UUIDs, which KV keys accept)."""
    return f"{entity}.{entity_id}"
