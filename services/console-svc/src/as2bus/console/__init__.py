"""console-svc: the operators' web console, a backend-for-frontend.

It reads tracklog-svc, config-svc and cert-svc over their HTTP APIs (with a token that never
reaches the browser) and publishes send requests on the bus; it owns only its users and their
sessions. Layers: ``entrypoints`` (pages, the users API) → ``service`` (sign-in, sessions,
sending) → ``domain`` (roles, rules; no I/O) → ``adapters`` (tables, passwords, the other
services, the bus). ``bootstrap`` is the composition root.
"""
