"""Run an as2bus service as a real child process for integration tests.

The service gets its settings through the environment exactly as in production; its log goes to
a file the test can read (to prove, for example, that no secret was logged).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServiceProcess:
    """``python -m <module>`` with ``AS2BUS_*`` settings; ready once ``/readyz`` answers 200.

    ``tls_ca``: the service serves HTTPS (inbound-svc with a certificate) with a certificate
    for 127.0.0.1 issued by this CA (PEM file): ``base_url`` is ``https://`` and readiness is
    asked over TLS, verified against that CA only."""

    def __init__(
        self, module: str, env: dict[str, str], log_path: Path, *, tls_ca: Path | None = None
    ) -> None:
        self.module = module
        self.port = _free_port()
        scheme = "http" if tls_ca is None else "https"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self._verify: ssl.SSLContext | bool = (
            True if tls_ca is None else ssl.create_default_context(cafile=tls_ca)
        )
        self.log_path = log_path
        self._env = {**os.environ, **env, "AS2BUS_HTTP_PORT": str(self.port)}
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> ServiceProcess:
        """Start the process, without waiting for it to be ready."""
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", self.module], env=self._env, stdout=log, stderr=log
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 30.0) -> ServiceProcess:
        assert self._proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited at start:\n{self.log()}")
            try:
                ready = httpx.get(f"{self.base_url}/readyz", timeout=1, verify=self._verify)
                if ready.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.module} not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """Die without any clean-up, as a crashed pod would."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=10)

    def send_signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None, "launch() first"
        self._proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """The exit code once it has exited (``subprocess.TimeoutExpired`` after ``timeout``)."""
        assert self._proc is not None, "launch() first"
        return self._proc.wait(timeout=timeout)

    def stop(self) -> int | None:
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        return self._proc.returncode
