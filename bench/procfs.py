"""Memory and CPU figures of a process from /proc, and the machine's description."""

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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on: the name in field 2 may hold spaces."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def user_and_system_seconds(pid: int) -> tuple[float, float]:
    """The process's CPU so far, in user space and in the kernel ((0, 0) once it is gone).
    Large documents are mostly the kernel's: copies through files and sockets."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0, 0.0
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU used by every thread of the process so far (0.0 once it is gone).
    ``with_children``: also its child processes, those alive (PostgreSQL's backends, read
    now) and those ended and reaped (counted in its cutime and cstime)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat(5): here from index 11
    own = int(fields[11]) + int(fields[12])
    if not with_children:
        return own / CLOCK_TICKS
    reaped = int(fields[13]) + int(fields[14])
    alive = sum(cpu_seconds(child) for child in children(pid))
    return (own + reaped) / CLOCK_TICKS + alive


def switches_and_faults(pid: int) -> tuple[int, int]:
    """Context switches (voluntary and not, of every thread alive) and minor page faults (of
    the whole process) so far; (0, 0) once it is gone. Unlike CPU time, these counts do not
    move with the machine's speed: a thread hand-off, a wake-up of the event loop or a page
    of fresh memory shows up here whatever the VM's hour (docs/benchmarks.md, finding 23)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0, 0
    faults = int(fields[7])  # minflt, field 10 of stat(5)
    switches = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0, 0
    for task in tasks:
        try:
            status = (task / "status").read_text()
        except OSError:  # a thread that ended meanwhile
            continue
        for line in status.splitlines():
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                switches += int(line.split()[1])
    return switches, faults


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` right now."""
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    return [p for p in pids if (fields := _stat_fields(p)) is not None and int(fields[1]) == pid]


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return sum(values) - idle, sum(values)


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
