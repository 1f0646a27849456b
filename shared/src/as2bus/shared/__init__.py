"""as2bus shared library: the service chassis, what every service needs and nothing
service-specific. The payloads and names on the bus are ``as2bus.contracts`` (its own
distribution, which other systems install alone); test helpers are ``as2bus.testing``.

- `bus`: stream set-up, publishing with server-side dedup, idempotent consumers, config replica.
- `settings`, `db`, `secrets`, `logging`, `web`: the service chassis.
"""
