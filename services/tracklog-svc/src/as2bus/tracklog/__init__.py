"""tracklog-svc: a projection of every AS2 message's status and history, built from the events
stream, and the API that ops dashboards read.

Layers: ``entrypoints`` (bus consumer, HTTP, SSE) → ``service`` (apply a batch of events once)
→ ``domain``/``merge``/``certs`` (rules, no I/O) → ``adapters`` (tables, repository, queries).
``app`` is the composition root; ``rebuild`` replays the stream into a fresh projection.
"""
