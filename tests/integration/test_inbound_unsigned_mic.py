"""inbound-svc's MDN for unsigned messages carries Received-Content-MIC (RFC 4130 §7.3.1), and
pyas2lib, the sender, checks it: encrypted-only and plain, read from memory and from a spool
file. The expected MIC is hashed here over bytes the test knows: the body as posted, or the
plaintext pyas2lib handed to its encryption."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from as2bus.cert import x509
from as2bus.peers.pyas2lib_peer import pyas2
from as2bus.testing.services import ServiceProcess

from .conftest import client, partnership_with_keys, start_inbound, stop
from .test_inbound_pyas2lib_partner import PAYLOAD, pyas2lib_reads_mdn


@pytest.fixture(params=["memory", "spooled"])
def inbound(
    request: pytest.FixtureRequest,
    nats_url: str,
    master_key: str,
    tmp_path: Path,
    cert_svc: ServiceProcess,
) -> Iterator[ServiceProcess]:
    spool = {"spooled": "256", "memory": str(1 << 20)}[request.param]
    proc = start_inbound(nats_url, master_key, tmp_path, AS2BUS_INBOUND_SPOOL_BYTES=spool)
    yield proc
    stop(proc)


async def acme_sends_unsigned(config_svc: ServiceProcess) -> None:
    """The partnership accepts unsigned, unencrypted messages from acme."""
    async with client(config_svc) as config:
        (acme,) = (await config.get("/api/v1/partners")).json()
        patch = {"signing_alg": None, "encryption_alg": None}
        answer = await config.patch(f"/api/v1/partners/{acme['id']}", json=patch)
        assert answer.status_code == 200, answer.text


def unsigned_message(ours: bytes, acme: x509.OwnKey, *, encrypt: bool) -> tuple[Any, bytes]:
    """pyas2lib's message, and the bytes it encrypted (the body itself when not encrypting)."""
    org = pyas2.Organization(as2_name="acme", sign_key=(acme.key_pem + acme.cert.cert_pem).encode())
    partner = pyas2.Partner(
        as2_name="MYCO",
        verify_cert=ours,
        encrypt_cert=ours,
        validate_certs=False,
        sign=False,
        encrypt=encrypt,
        enc_alg="aes_256_cbc",
        mdn_mode="SYNC",
        mdn_digest_alg="sha384",
    )
    plaintexts: list[bytes] = []
    encrypt_message = pyas2.encrypt_message

    def recording(data: bytes, *args: Any) -> Any:
        plaintexts.append(data)
        return encrypt_message(data, *args)

    pyas2.encrypt_message = recording
    try:
        message = pyas2.Message(org, partner)
        message.build(PAYLOAD, filename="orders.edi", content_type="application/octet-stream")
    finally:
        pyas2.encrypt_message = encrypt_message
    return message, plaintexts[0] if encrypt else message.content


async def processed_mdn(inbound: ServiceProcess, message: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=inbound.base_url, timeout=30) as http:
        for _ in range(100):  # the replica may not have the partner's new settings yet
            response = await http.post("/as2", headers=message.headers, content=message.content)
            if b"processed/error" not in response.content:
                return response
            await asyncio.sleep(0.1)  # a retry loop: the next POST may find the new settings
    raise AssertionError(f"no processed MDN: {response.text}")


@pytest.mark.parametrize("encrypt", [True, False], ids=["encrypted-only", "plain"])
async def test_pyas2lib_checks_the_mic_of_our_mdn_for_unsigned_messages(
    config_svc: ServiceProcess, cert_svc: ServiceProcess, inbound: ServiceProcess, encrypt: bool
) -> None:
    ours, acme = await partnership_with_keys(config_svc, cert_svc)
    await acme_sends_unsigned(config_svc)
    message, covered = unsigned_message(ours, acme, encrypt=encrypt)
    assert covered.endswith(PAYLOAD)
    assert covered.startswith(b"Content-Type: application/octet-stream") is encrypt
    expected = base64.b64encode(hashlib.sha384(covered).digest()).decode()

    response = await processed_mdn(inbound, message)
    assert response.status_code == 200
    assert f"Received-Content-MIC: {expected}, sha-384".encode() in response.content
    message.mic = expected.encode()  # pyas2lib sets it only when signing; then it compares
    assert pyas2lib_reads_mdn(message, dict(response.headers), response.content) == (
        "processed",
        None,
    )
    message.mic = base64.b64encode(hashlib.sha384(b"not what was sent").digest())
    assert pyas2lib_reads_mdn(message, dict(response.headers), response.content) == (
        "processed/warning",
        "Message Integrity check failed.",
    )
