"""What outbound-svc's entrypoints use, built and installed by its lifespan (bootstrap.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from as2bus.outbound.accept import Acceptor
from as2bus.outbound.adapters.claims import Claims
from as2bus.outbound.connection_test import ConnectionTest
from as2bus.outbound.kept_documents import KeptDocuments
from as2bus.outbound.settle import Settlement
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.wiring import Wiring


@dataclass(frozen=True)
class Components:
    acceptor: Acceptor
    settlement: Settlement
    replica: ConfigReplica
    claims: Claims
    connection_test: ConnectionTest
    documents: KeptDocuments
    wake_senders: Callable[[], None]  # a message is due now: claim it without waiting


wiring = Wiring(Components, "outbound-svc")
