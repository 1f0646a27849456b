"""Adapters: the database (tables, repository, outbox) and the relay that publishes the outbox."""
