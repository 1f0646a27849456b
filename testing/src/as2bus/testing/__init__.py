"""Test support (``as2bus-testing``, a development dependency: no service installs it).

`infra` starts real NATS JetStream and PostgreSQL servers (testcontainers when a Docker engine
answers, else local processes); `plugin` exposes them as pytest fixtures (loaded from the root
conftest.py); `services` runs a service as a real process; `waiting` waits for facts instead of
sleeping; `config_states`, `key_material`, `migrations` and `tracklog` make test data.
"""
