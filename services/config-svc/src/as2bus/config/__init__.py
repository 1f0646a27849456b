"""config-svc: stations (our AS2 identities), trading partners and partnerships.

Layers: ``entrypoints`` (HTTP) → ``service`` (use cases) → ``domain`` (rules, no I/O) →
``adapters`` (database, outbox relay to the bus). ``app`` is the composition root.
"""
