"""inbound-svc: the AS2 endpoint. Decrypts, verifies, stores the document, publishes
MessageReceived, answers with an MDN (sync or async); also receives partners' async MDNs.

Layers: ``entrypoints`` (HTTP) → ``service`` (the receive use case) → ``domain`` (rules) →
``adapters`` (ledger, documents, MDN delivery) and the shared AS2 codec.
"""
