"""Memory figures of a process from /proc, and the machine's description."""

from __future__ import annotations

import os
import platform
import ssl
import sys
from pathlib import Path
from typing import Any


def memory(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak resident set) in bytes; empty once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM") if k in fields}


def reset_peak(pid: int) -> bool:
    """Restart VmHWM from the current RSS (Linux ≥ 4.0), so the peak belongs to what follows.
    False when not allowed: the peak then also covers what happened before."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ram = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    from cryptography.hazmat.backends.openssl.backend import backend

    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(ram / (1 << 30), 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "openssl_python_ssl": ssl.OPENSSL_VERSION,
        "openssl_cryptography": backend.openssl_version_text(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }
