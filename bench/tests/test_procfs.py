"""The bench's figures from /proc: CPU of a process's own threads, and a parent's children alive
or reaped (how PostgreSQL's backends are counted); context switches and page faults."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench import procfs

SPIN = "import time\nend = time.process_time() + {0}\nwhile time.process_time() < end: pass\n"


def test_a_process_cpu_is_its_own_and_a_parents_includes_its_children() -> None:
    # A child that spins 0.4 s of CPU, then sleeps: its CPU stays there however long we wait.
    # (/proc counts in clock ticks, a little behind the clock the child spins on: 0.3 asked.)
    child = subprocess.Popen([sys.executable, "-c", SPIN.format(0.4) + "time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while procfs.cpu_seconds(child.pid) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        spent = procfs.cpu_seconds(child.pid)
        assert 0.3 <= spent < 1.5  # the spin plus the interpreter's start
        assert child.pid in procfs.children(os.getpid())
        mine = procfs.cpu_seconds(os.getpid())
        assert procfs.cpu_seconds(os.getpid(), with_children=True) >= mine + spent
    finally:
        child.kill()
        child.wait()
    assert procfs.cpu_seconds(child.pid) == 0.0  # gone


def test_the_machine_is_busier_while_something_spins() -> None:
    busy0, total0 = procfs.machine_ticks()
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    busy1, total1 = procfs.machine_ticks()
    assert total1 > total0
    assert busy1 - busy0 >= 0.25 * procfs.CLOCK_TICKS  # at least our spin


def test_a_processes_cpu_splits_into_user_and_system_time() -> None:
    child = subprocess.Popen([sys.executable, "-c", SPIN.format(0.4) + "time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while sum(procfs.user_and_system_seconds(child.pid)) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        user, system = procfs.user_and_system_seconds(child.pid)
        assert user + system >= 0.3
        assert user > 0.05  # the spin, mostly (on a VM, faults make much of it system time)
        assert abs(user + system - procfs.cpu_seconds(child.pid)) < 0.02
    finally:
        child.kill()
        child.wait()
    assert procfs.user_and_system_seconds(child.pid) == (0.0, 0.0)


SLEEPER = "import time\nfor _ in range({0}): time.sleep(0.002)\ntime.sleep(30)\n"
TOUCHER = "import mmap\nm = mmap.mmap(-1, {0})\nfor i in range(0, {0}, 4096): m[i] = 1\n"


def test_a_process_that_sleeps_often_switches_often_and_fresh_memory_faults() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", SLEEPER.format(200)])
    toucher = subprocess.Popen(
        [sys.executable, "-c", TOUCHER.format(64 << 20) + "import time\ntime.sleep(30)\n"]
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            slept, _ = procfs.switches_and_faults(sleeper.pid)
            _, touched = procfs.switches_and_faults(toucher.pid)
            if slept >= 200 and touched >= 16384:
                break
            time.sleep(0.05)
        assert slept >= 200  # each sleep gives the CPU up once
        assert touched >= 16384  # a fault per fresh 4 KiB page of the 64 MiB touched
        _, sleeper_faults = procfs.switches_and_faults(sleeper.pid)
        assert sleeper_faults < touched / 2
    finally:
        for child in (sleeper, toucher):
            child.kill()
            child.wait()
    assert procfs.switches_and_faults(sleeper.pid) == (0, 0)  # gone
