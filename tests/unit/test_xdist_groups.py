"""``make test``'s two workers take each test file whole (the root conftest.py groups them
for ``--dist loadgroup``): a file's module fixtures start once, and the running stack once.
pytest-xdist's own grouping stopped working with pytest 9.2; this notices if ours does too."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = [  # fast unit tests, several per file
    "services/outbound-svc/tests/unit/test_message_states.py",
    "services/outbound-svc/tests/unit/test_domain.py",
    "services/outbound-svc/tests/unit/test_fingerprint.py",
]


def test_each_file_runs_whole_on_one_worker() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *FILES, "-n", "2", "--dist", "loadgroup", "-v",
         "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    workers: dict[str, set[str]] = defaultdict(set)
    for worker, path in re.findall(r"\[(gw\d)\].*? PASSED (\S+?)::", run.stdout):
        workers[path].add(worker)
    assert set(workers) == set(FILES), run.stdout[-2000:]
    assert all(len(ran_on) == 1 for ran_on in workers.values()), dict(workers)
