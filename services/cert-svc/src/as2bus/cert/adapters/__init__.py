"""Adapters: the database (tables, repository) of cert-svc."""
