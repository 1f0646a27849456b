"""docs/configuration.md lists every setting a service reads (console-svc's own in
docs/console.md, which it links to): read from the services' settings classes, so a setting
added without its line in the docs fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from as2bus.cert.settings import CertSettings
from as2bus.config.settings import ConfigSettings
from as2bus.console.settings import ConsoleSettings
from as2bus.inbound.settings import InboundSettings
from as2bus.notify.settings import NotifySettings
from as2bus.outbound.settings import OutboundSettings
from as2bus.tracklog.settings import TracklogSettings

DOCS = Path(__file__).resolve().parents[2] / "docs"
SETTINGS: list[type[BaseSettings]] = [ConfigSettings, CertSettings, InboundSettings,
    OutboundSettings, TracklogSettings, ConsoleSettings, NotifySettings]  # fmt: skip


def variables(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads, nested settings included."""
    prefix = settings.model_config.get("env_prefix", "")
    found: set[str] = set()
    for name, field in settings.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            found |= variables(field.annotation)
        elif isinstance(field.validation_alias, AliasChoices):
            found |= {c for c in field.validation_alias.choices if isinstance(c, str)}
        elif isinstance(field.validation_alias, str):
            found.add(field.validation_alias)
        else:
            found.add(f"{prefix}{name}".upper())
    return found


def documented(text: str) -> set[str]:
    """The variables a page names: in full, and in a table's short form
    (`AS2BUS_OUTBOUND_BACKOFF_SECONDS` / `_BACKOFF_MAX_SECONDS`: the second keeps the prefix of
    the full name before it on the line)."""
    found: set[str] = set()
    for line in text.splitlines():
        prefix = None
        for name in re.findall(r"`(AS2BUS_[A-Z0-9_]+|_[A-Z0-9_]+)`", line):
            if name.startswith("AS2BUS_"):
                found.add(name)
                prefix = "_".join(name.split("_")[:2])  # AS2BUS_OUTBOUND
            elif prefix:
                found.add(prefix + name)
    return found


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_every_setting_a_service_reads_is_documented(settings: type[BaseSettings]) -> None:
    docs = documented((DOCS / "configuration.md").read_text())
    docs |= documented((DOCS / "console.md").read_text())
    assert sorted(variables(settings) - docs) == []


def test_the_reader_of_the_docs_expands_the_short_form() -> None:
    line = "| `AS2BUS_OUTBOUND_BACKOFF_SECONDS` / `_BACKOFF_MAX_SECONDS` | 30 / 3600 | ... |"
    assert documented(line) == {
        "AS2BUS_OUTBOUND_BACKOFF_SECONDS",
        "AS2BUS_OUTBOUND_BACKOFF_MAX_SECONDS",
    }
    assert "AS2BUS_NOTIFY_TICK_SECONDS" in variables(NotifySettings)
    assert "AS2BUS_EVENTS_REPLICAS" in variables(ConfigSettings)  # nested settings count
