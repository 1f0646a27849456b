"""docs/integrating.md, followed step by step by the two example clients against ``as2bus up``
(its loopback demo: DEMO-A sends to DEMO-B, whose documents come back in as DEMO-B's), as the
outside system's NATS user ``app`` with its own inbox prefix. The Python system uses only what
``as2bus-contracts`` offers (test_contracts_alone.py checks that it installs alone)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import nats

from as2bus.contracts import Event, MessageDelivered, MessageReceived, MessageRejected
from as2bus.contracts.documents import document_chunks, documents_bucket
from as2bus.contracts.outcomes import OUTCOME_SUBJECTS, RECEIVED_SUBJECTS, EventConsumer
from as2bus.contracts.send import send_document

ROOT = Path(__file__).parents[3]
NODE_EXAMPLE = ROOT / "examples" / "nodejs"
SMALL = b"ISA*00*          *00*          *ZZ*DEMO-A         *ZZ*DEMO-B~\r\n" * 20
LARGE = b"ST*850*0001~\r\nBEG*00*SA*4711**20261204~\r\n" * 30_000  # 1.2 MB: by reference


def _app_password(data: Path) -> str:
    return (data / "secrets" / "nats" / "app").read_text().strip()


async def test_the_guide_works_for_a_python_and_a_nodejs_system(
    running_stack: Any, tmp_path: Path
) -> None:
    """One stack for both clients (each run ignores the other's events)."""
    running_stack.up.wait_for("Loopback demo created")
    ports = (running_stack.nats_port, running_stack.base_port)
    await _python_system(running_stack.data, ports)
    await asyncio.to_thread(_nodejs_system, running_stack.data, tmp_path, ports)


async def _python_system(data: Path, ports: tuple[int, int]) -> None:
    nc = await nats.connect(
        f"nats://127.0.0.1:{ports[0]}",
        user="app",
        password=_app_password(data),
        inbox_prefix="_INBOX.app",
    )
    try:
        js = nc.jetstream()
        # Step 3 first: the consumers exist before anything is published.
        outcomes = await EventConsumer.open(js, "py-guide-outcomes", OUTCOME_SUBJECTS)
        received = await EventConsumer.open(js, "py-guide-received", RECEIVED_SUBJECTS)
        small = await send_document(nc, SMALL, station="DEMO-A", partner="DEMO-B", filename="a")
        large = await send_document(nc, LARGE, station="DEMO-A", partner="DEMO-B", filename="b")
        assert small.inline_base64 is not None
        assert large.document is not None
        bad_id = str(uuid.uuid4())
        bad = {"request_id": bad_id, "station": "DEMO-A", "partner": "DEMO-B", "subjct": "x"}
        bad["inline_base64"] = base64.b64encode(b"x").decode()
        await js.publish("as2.cmd.send", json.dumps(bad).encode(), headers={"Nats-Msg-Id": bad_id})

        ids = [small.request_id, large.request_id, bad_id]
        found = await outcomes.outcomes(ids, timeout=60)
        assert isinstance(found[small.request_id], MessageDelivered)
        assert isinstance(found[large.request_id], MessageDelivered)
        rejected = found[bad_id]
        assert isinstance(rejected, MessageRejected)
        assert rejected.data.code == "INVALID_REQUEST"
        assert "unknown field subjct" in rejected.data.reason

        # Step 4: the documents came back in (loopback); read each in chunks, checked
        # against its reference, and acknowledge its event only once it is stored.
        bucket = await documents_bucket(js)
        got: dict[str, bytes] = {}

        async def store(event: Event) -> None:
            assert isinstance(event, MessageReceived)
            content = b"".join([c async for c in document_chunks(bucket, event.data.document)])
            assert hashlib.sha256(content).hexdigest() == event.data.document.sha256
            got[event.data.filename or event.data.message_id] = content

        deadline = time.monotonic() + 30
        while len(got) < 2 and time.monotonic() < deadline:
            await received.handle(store)
        assert got == {"a": SMALL, "b": LARGE}
    finally:
        await nc.close()


def _nodejs_system(data: Path, tmp_path: Path, ports: tuple[int, int]) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for this test (Debian package nodejs)"
    assert (NODE_EXAMPLE / "node_modules").is_dir(), "run `make test` (it runs npm ci there)"
    env = {
        "PATH": os.environ["PATH"],
        "NATS_URL": f"nats://127.0.0.1:{ports[0]}",
        "NATS_PASSWORD": _app_password(data),
        "OUT_DIR": str(tmp_path / "received"),
    }
    done = subprocess.run(
        [node, "send-and-receive.mjs"],
        cwd=NODE_EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(summary["delivered"]) == 2, summary
    assert summary["failed"] == []
    ((bad,),) = [summary["rejected"]]
    assert bad["code"] == "INVALID_REQUEST"
    received = summary["received"]
    assert [r["sha256_ok"] for r in received] == [True, True]
    # The small order came back as it was sent: two documents in one message (RFC 6362), the
    # X12 first and its CSV attachment, each saved to a file of its own; the large one alone.
    with_csv, large = received
    kinds = [(Path(d["file"]).suffix, d["content_type"]) for d in with_csv["documents"]]
    assert kinds == [(".x12", "application/edi-x12"), (".csv", "text/csv")], with_csv
    assert len(large["documents"]) == 1, large
    assert "document 2 of 2" in done.stdout
    files = {p.name: p.read_bytes() for p in (tmp_path / "received").iterdir()}
    documents = [d for r in received for d in r["documents"]]
    assert {name: len(data) for name, data in files.items()} == {
        d["file"]: d["size"] for d in documents
    }
    csv = files[with_csv["documents"][1]["file"]].decode().split("\r\n")
    assert csv[0] == "line,quantity,unit,price,item"
    assert csv[1].startswith("1,10,EA,")
