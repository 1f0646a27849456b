"""Child processes of ``as2bus up``.

Each child runs in its own process group (a Ctrl-C in the terminal reaches only us, and we stop
the children in order), is asked by Linux to die with us (``PR_SET_PDEATHSIG``, so even a
SIGKILLed ``as2bus up`` leaves nothing behind), and has its output copied line by line to its
log file and, prefixed with its name, to our terminal. A child that dies is started again by
``as2bus up`` after a delay that doubles at each quick death (``Backoff``), as Kubernetes
restarts a crashed container.
"""

from __future__ import annotations

import collections
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

_ECHO = threading.Lock()
PR_SET_PDEATHSIG = 1
#: Restart delays: 1 s, 2 s, 4 s ... up to 30 s; back to 1 s once a child stayed up 60 s.
BACKOFF_FIRST, BACKOFF_CAP, BACKOFF_RESET_AFTER = 1.0, 30.0, 60.0


class Backoff:
    """How long to wait before restarting a child that died after running ``ran_for`` s."""

    def __init__(
        self,
        first: float = BACKOFF_FIRST,
        cap: float = BACKOFF_CAP,
        reset_after: float = BACKOFF_RESET_AFTER,
    ) -> None:
        self.first, self.cap, self.reset_after = first, cap, reset_after
        self._next = first

    def delay(self, ran_for: float) -> float:
        if ran_for >= self.reset_after:  # it had recovered: a new incident starts over
            self._next = self.first
        delay = self._next
        self._next = min(self.cap, self._next * 2)
        return delay


def exit_reason(code: int) -> str:
    """``exit code 1`` or ``killed by SIGKILL`` (Popen's negative return codes)."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn``: SIGTERM the child when this process dies. The "parent" Linux watches
    is the forking thread, so spawn from the main thread. libc is loaded here, before fork."""
    if not sys.platform.startswith("linux"):
        return lambda: None
    prctl, parent = ctypes.CDLL(None, use_errno=True).prctl, os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # we died before the prctl took effect
            os._exit(1)

    return preexec


class Child:
    """One supervised process."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], log_path: Path, width: int = 10
    ) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.prefix = f"{name:<{width}} | "
        self.tail: collections.deque[str] = collections.deque(maxlen=20)
        self.proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None
        self.started_at = 0.0  # time.monotonic() of the last start
        self.starts = 0
        self.backoff = Backoff()

    def start(self) -> None:
        """Start it, or start it again once it has died (the same command and environment)."""
        if self._pump is not None:
            self._pump.join(timeout=2)  # the last one's output is copied before the mark
        verb = "restarts" if self.starts else "starts"
        mark = f"----- {time.strftime('%Y-%m-%d %H:%M:%S')} as2bus up {verb} {self.name}\n"
        with self.log_path.open("ab") as log:  # runs append: mark where this one begins
            log.write(mark.encode())
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=die_with_parent(),
        )
        self.started_at, self.starts = time.monotonic(), self.starts + 1
        self._pump = threading.Thread(target=self._copy_output, name=self.name, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        echo = True
        with self.log_path.open("ab") as log:
            for raw in iter(self.proc.stdout.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode(errors="replace").rstrip()
                self.tail.append(line)
                if echo:
                    echo = _echo(self.prefix + line)

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    def exit_code(self) -> int | None:
        """None while it runs."""
        return None if self.proc is None else self.proc.poll()

    def last_lines(self) -> str:
        if self._pump is not None:
            self._pump.join(timeout=2)  # let it copy what the child wrote before dying
        return "\n".join(f"  {line}" for line in self.tail) or "  (no output)"

    def stop(self, timeout: float = 10.0, hurry: threading.Event | None = None) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (or at once when ``hurry`` is set)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            waited = 0.0
            while self.proc.poll() is None and waited < timeout:
                if hurry is not None and hurry.is_set():
                    break
                try:
                    self.proc.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    waited += 0.1
            if self.proc.poll() is None:
                echo(f"{self.name} did not stop in time; killing it")
                self.proc.kill()
            self.proc.wait()
        if self._pump is not None:
            self._pump.join(timeout=2)


def _echo(line: str) -> bool:
    """Write one line to our stdout; False once the terminal is gone."""
    try:
        with _ECHO:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except (OSError, ValueError):
        return False
    return True


def echo(line: str) -> None:
    _echo(line)
