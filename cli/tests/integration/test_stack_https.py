"""``as2bus up --tls-cert --tls-key`` as a real process: inbound-svc serves the AS2 endpoint over
HTTPS with that certificate, the banner gives the ``https://`` URL, and the readiness wait works
over TLS (the banner comes only once every service answered)."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from as2bus.testing.tls import PrivateCa, certificate_sha256, write_pair

CA = PrivateCa("up CA")


class UpWithTls:
    """``as2bus up --no-demo`` with TLS options; its output in a file."""

    def __init__(self, data: Path, nats_port: int, base_port: int, *options: str) -> None:
        argv = [sys.executable, "-m", "as2bus.cli", "up", "--data-dir", str(data), "--no-demo"]
        argv += ["--nats-port", str(nats_port), "--base-port", str(base_port), *options]
        data.parent.mkdir(parents=True, exist_ok=True)
        self.out = data.parent / "up.out"
        with self.out.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    @property
    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.proc.poll() is None, self.output
            assert time.monotonic() < deadline, self.output
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def served_fingerprint(port: int, ca: Path) -> str:
    context = ssl.create_default_context(cafile=ca)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def test_up_serves_the_as2_endpoint_over_https(tmp_path: Path, ports: tuple[int, int]) -> None:
    pair = CA.issue()
    key_file, cert_file = write_pair(tmp_path, "endpoint", pair)
    (ca_file := tmp_path / "ca.pem").write_bytes(CA.cert_pem)
    nats_port, base_port = ports
    up = UpWithTls(
        tmp_path / "data", nats_port, base_port, "--tls-cert", str(cert_file),
        "--tls-key", str(key_file), "--tls-client-ca", str(ca_file),
    )  # fmt: skip
    try:
        up.wait_for("as2bus is up.", timeout=120)
        endpoint = base_port - 1  # inbound-svc's port sits below config-svc's
        assert f"inbound-svc  https://127.0.0.1:{endpoint}/as2" in up.output
        assert f"starting inbound-svc on https://127.0.0.1:{endpoint}" in up.output
        assert "No loopback demo" not in up.output  # --no-demo: nothing to say
        assert served_fingerprint(endpoint, ca_file) == certificate_sha256(pair[1])
        verify = ssl.create_default_context(cafile=ca_file)
        ready = httpx.get(f"https://127.0.0.1:{endpoint}/readyz", verify=verify, timeout=5)
        assert ready.status_code == 200
        log = (tmp_path / "data" / "logs" / "inbound-svc.log").read_text()
        assert "AS2 endpoint https://" in log
        up.proc.send_signal(signal.SIGINT)
        assert up.proc.wait(timeout=60) == 0, up.output
    finally:
        up.kill()


def test_up_refuses_a_key_without_its_certificate(tmp_path: Path, ports: tuple[int, int]) -> None:
    key_file, _ = write_pair(tmp_path, "endpoint", CA.issue())
    up = UpWithTls(tmp_path / "data", *ports, "--tls-key", str(key_file))
    try:
        assert up.proc.wait(timeout=60) != 0
        assert "--tls-cert and --tls-key go together" in up.output
        assert "starting" not in up.output
    finally:
        up.kill()
