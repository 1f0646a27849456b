"""`as2bus up` lets inbound-svc post async MDNs to loopback, where its demo's partners are: a
documented private use (docs/tls.md), set explicitly since the default allows no private
network; a value in the environment wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from as2bus.cli.stack import Stack

NAME = "AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS"


def test_up_allows_loopback_to_inbound_svc_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(NAME, raising=False)
    stack = Stack(tmp_path, 4333, 9000)
    inbound = next(s for s in stack.services if s.module == "as2bus.inbound")
    assert json.loads(stack._service_env(inbound)[NAME]) == ["127.0.0.0/8", "::1/128"]
    monkeypatch.setenv(NAME, '["10.20.0.0/16"]')
    assert NAME not in stack._service_env(inbound)  # the environment's, which every service gets
