"""Test support: real NATS JetStream and PostgreSQL for integration tests.

`infra` starts the servers (testcontainers when a Docker engine answers, else local processes);
`plugin` exposes them as pytest fixtures (loaded from the root conftest.py).
"""
