"""as2bus shared library: what every service needs and nothing service-specific.

- `contracts`: the versioned event envelope and every event/command payload on the bus.
- `subjects`: stream, subject and bucket names (they are contracts too).
- `bus`: stream set-up, publishing with server-side dedup, idempotent consumers, config replica.
- `settings`, `db`, `secrets`, `logging`, `web`: the service chassis.
"""
