"""An HTTP server on loopback, in a thread, that records every POST (its path and body): a
partner's MDN URL or any other target a service posts to. It can fail the first POSTs with
503, as a partner that is down for a while."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class PostRecorder:
    """``failures``: how many POSTs are answered 503 before the others are taken (200)."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.paths: list[str] = []  # of every POST, failed ones too
        self.bodies: list[bytes] = []  # of the POSTs taken
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                recorder.paths.append(self.path)
                status = 503 if recorder.failures > 0 else 200
                recorder.failures -= 1
                if status == 200:
                    recorder.bodies.append(body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass  # the test says what matters

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def post_recorder(failures: int = 0) -> Iterator[PostRecorder]:
    recorder = PostRecorder(failures)
    try:
        yield recorder
    finally:
        recorder.close()
