"""The ``as2bus`` command line: manage the gateway over its admin APIs, run it locally."""
