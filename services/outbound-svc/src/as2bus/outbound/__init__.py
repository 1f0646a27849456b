"""outbound-svc: takes send requests from the bus, builds and POSTs AS2 messages, checks MDNs,
retries. State lives in the database so a crash or restart resumes where it was.

Layers: ``entrypoints`` (bus consumer, workers, HTTP ops) → ``service`` (use cases) →
``domain`` (states, retry policy, MDN judgement) → ``adapters`` (messages table, partner
limiter, partner HTTP, credentials) and the shared AS2 codec.
"""
