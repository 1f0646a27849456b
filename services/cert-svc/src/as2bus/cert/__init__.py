"""cert-svc: our keys and certificates, partners' certificates, rotation and expiry.

Layers: ``entrypoints`` (HTTP, bus request-reply) → ``service`` (use cases) → ``domain`` and
``x509`` (rules and certificate handling, no I/O) → ``adapters`` (database, expiry monitor).
"""
