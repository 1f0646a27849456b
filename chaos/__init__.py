"""Fault injection (issue 22): the real stack under a steady load while one process at a time is
killed with SIGKILL and started again; what became of every send request, from the bus, the
receiving side and tracklog-svc. ``make chaos``; the figures go to docs/reliability.md."""
