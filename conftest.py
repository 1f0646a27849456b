"""Root conftest: loads the shared integration-test plugin (real NATS JetStream and PostgreSQL)."""

pytest_plugins = ["as2bus.shared.testing.plugin"]
