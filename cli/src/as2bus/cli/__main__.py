"""``python -m as2bus.cli``: the same as the ``as2bus`` command."""

from as2bus.cli.main import app

app(prog_name="as2bus")
