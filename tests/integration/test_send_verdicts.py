"""``as2bus send`` says what tracklog-svc says, through the real stack: config-svc, cert-svc,
outbound-svc and tracklog-svc on one NATS, and a partner made of the openssl CLI that opens
what we send and answers each kind of MDN (good, signed by a stranger, unsigned, negative) or
none. For each, the CLI's last line and exit code are tracklog's status and words."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from as2bus.cert import x509
from as2bus.testing.infra import free_port
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import until, until_sync

from .conftest import client, tracked
from .test_outbound_partners import openssl

EDI = b"ISA*00*          *00*          *ZZ*MYCO~\r\nST*850*0001~\r\nSE*2*0001~\r\n"
#: partner → (its settings, the status tracklog and the CLI must give, the CLI's exit code)
CASES: dict[str, tuple[dict[str, Any], str, int]] = {
    "good": ({"mdn_signature": "required"}, "delivered", 0),
    "stranger": ({"mdn_signature": "required"}, "failed", 1),
    "unsigned_required": ({"mdn_signature": "required"}, "failed", 1),
    "unsigned_preferred": ({"mdn_signature": "preferred"}, "delivered-with-warnings", 3),
    "no_mdn": ({"mdn_mode": "none"}, "delivered", 0),
    "negative": ({"mdn_signature": "required"}, "failed", 1),
}


class MdnPartner:
    """openssl verifies what we send, then answers the MDN its case calls for."""

    def __init__(self, keys: x509.OwnKey, stranger: x509.OwnKey, our_cert: bytes) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mdn-partner-"))
        for name, own in (("partner", keys), ("stranger", stranger)):
            (self.dir / f"{name}.key").write_text(own.key_pem)
            (self.dir / f"{name}.pem").write_text(own.cert.cert_pem)
        (self.dir / "sender.pem").write_bytes(our_cert)
        self.requests: dict[str, dict[str, str]] = {}
        self.port = free_port()
        app = Starlette(routes=[Route("/{case}", self.answer, methods=["POST"])])
        config = uvicorn.Config(app, port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        until_sync(lambda: self.server.started, what="the partner's web server", interval=0.01)

    def url(self, case: str) -> str:
        return f"http://127.0.0.1:{self.port}/{case}"

    def _file(self, data: bytes) -> Path:
        path = Path(tempfile.mkstemp(dir=self.dir)[1])
        path.write_bytes(data)
        return path

    async def answer(self, request: Request) -> Response:
        case = request.path_params["case"]
        self.requests[case] = dict(request.headers)
        signed = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        entity = openssl("cms", "-verify", "-in", self._file(signed + await request.body()),
                         "-inform", "SMIME", "-CAfile", self.dir / "sender.pem",
                         "-purpose", "any")  # fmt: skip
        if case == "no_mdn":
            return Response(b"thanks")
        mic = base64.b64encode(hashlib.sha256(entity).digest()).decode()
        disposition, mic_field = "processed", f"Received-Content-MIC: {mic}, sha256\r\n"
        if case == "negative":
            disposition, mic_field = "processed/error: decryption-failed", ""
        report = (
            "Content-Type: multipart/report; report-type=disposition-notification; "
            'boundary="r1"\r\n\r\n'
            "--r1\r\nContent-Type: text/plain\r\n\r\nAnswered by openssl.\r\n"
            "--r1\r\nContent-Type: message/disposition-notification\r\n\r\n"
            f"Original-Message-ID: {request.headers['message-id']}\r\n"
            f"Disposition: automatic-action/MDN-sent-automatically; {disposition}\r\n"
            f"{mic_field}\r\n--r1--\r\n"
        ).encode()
        if case.startswith("unsigned"):
            head, _, body = report.partition(b"\r\n\r\n")
            return Response(body, headers={"Content-Type": head.split(b": ", 1)[1].decode()})
        signer = "stranger" if case == "stranger" else "partner"
        smime = openssl("cms", "-sign", "-in", self._file(report), "-signer",
                        self.dir / f"{signer}.pem", "-inkey", self.dir / f"{signer}.key",
                        "-md", "sha256", "-crlfeol")  # fmt: skip
        head, _, body = smime.replace(b"\r\n", b"\n").partition(b"\n\n")
        unfolded = head.decode().replace("\n ", " ").replace("\n\t", " ")
        content_type = next(
            line.split(":", 1)[1].strip()
            for line in unfolded.split("\n")
            if line.lower().startswith("content-type")
        )
        return Response(body.replace(b"\n", b"\r\n"), headers={"Content-Type": content_type})


async def set_up(config_svc: ServiceProcess, cert_svc: ServiceProcess) -> MdnPartner:
    now = datetime.now(UTC)
    theirs = x509.generate_self_signed("partner", now=now)
    stranger = x509.generate_self_signed("stranger", now=now)
    async with client(config_svc) as config, client(cert_svc) as certs:
        station = (
            await config.post("/api/v1/stations", json={"as2_id": "MYCO", "name": "Me"})
        ).json()
        ours = await certs.post("/api/v1/certificates/own", json={"alias": "myco"})
        assert ours.status_code == 201, ours.text
        partner = MdnPartner(theirs, stranger, ours.json()["cert_pem"].encode())
        for name, (settings, _status, _code) in CASES.items():
            body = {"as2_id": name, "name": name, "as2_url": partner.url(name),
                    "encryption_alg": "none", **settings}  # fmt: skip
            created = await config.post("/api/v1/partners", json=body)
            assert created.status_code == 201, created.text
            upload = await certs.post(
                "/api/v1/certificates/partner",
                data={"alias": created.json()["as2_alias"]},
                files={"file": ("p.cer", theirs.cert.cert_pem.encode())},
            )
            assert upload.status_code == 201, upload.text
            link = {"station_id": station["id"], "partner_id": created.json()["id"]}
            assert (await config.post("/api/v1/partnerships", json=link)).status_code == 201
    return partner


async def as2bus_send(nats_url: str, document: Path, partner: str) -> tuple[int, list[str]]:
    """The CLI as a user runs it: (exit code, the lines it printed)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "as2bus.cli", "send", str(document), "--from", "MYCO",
        "--to", partner, "--nats-url", nats_url, "--wait", "60",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert not err, err.decode()
    return proc.returncode or 0, out.decode().splitlines()


async def settled_row(tracklog: ServiceProcess, message_id: str) -> dict[str, Any]:
    async def settled() -> dict[str, Any]:
        row: dict[str, Any] = (await tracked(tracklog, 1, message_id=message_id))[0]
        assert row["status"] in ("delivered", "delivered-with-warnings", "failed", "rejected"), row
        return row

    return await until(settled, what=f"{message_id} settled in tracklog-svc", timeout=20)


@pytest.fixture
def partners() -> Any:
    started: list[MdnPartner] = []
    yield started
    for partner in started:
        partner.server.should_exit = True
        partner.thread.join(timeout=10)
        shutil.rmtree(partner.dir, ignore_errors=True)  # it holds the partner's private keys


async def test_the_cli_says_what_tracklog_says_for_every_kind_of_mdn(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    outbound_svc: ServiceProcess,
    tracklog_svc: ServiceProcess,
    nats_url: str,
    partners: list[MdnPartner],
    tmp_path: Path,
) -> None:
    partner = await set_up(config_svc, cert_svc)
    partners.append(partner)
    document = tmp_path / "po.edi"
    document.write_bytes(EDI)
    results = await asyncio.gather(*(as2bus_send(nats_url, document, name) for name in CASES))
    for name, (code, lines) in zip(CASES, results, strict=True):
        print(name, code, lines)
        _settings, status, exit_code = CASES[name]
        queued = [line for line in lines if line.startswith("  queued as ")]
        assert queued, (name, lines)
        row = await settled_row(tracklog_svc, queued[0].removeprefix("  queued as "))
        assert (name, row["status"], code) == (name, status, exit_code), lines
        assert lines[-1] == row["verdict"], (name, lines, row)
    # What we asked for (RFC 4130 §7.3): required, optional, or no signature at all.
    options = {
        name: h.get("disposition-notification-options") for name, h in partner.requests.items()
    }
    assert options["good"] == (
        "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, sha-256"
    )
    assert options["unsigned_preferred"] == (
        "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256"
    )
    assert options["no_mdn"] is None
