"""What cert-svc's entrypoints use, built and installed by its lifespan (bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass

from as2bus.cert.keystores import Keystores
from as2bus.cert.service import CertService
from as2bus.shared.wiring import Wiring


@dataclass(frozen=True)
class Components:
    certs: CertService
    keystores: Keystores


wiring = Wiring(Components, "cert-svc")
