"""The ``./as2bus`` wrapper at the checkout's root: it runs the CLI with the checkout's data
directory, whatever the working directory (where `make run` keeps the API tokens)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def checkout_copy(root: Path) -> Path:
    """The wrapper in a checkout whose uv only prints the data directory it was given."""
    shutil.copy(REPO / "as2bus", root / "as2bus")
    (root / ".venv").mkdir()
    uv = root / ".tools" / "bin" / "uv"
    uv.parent.mkdir(parents=True)
    uv.write_text('#!/bin/sh\necho "data dir: $AS2BUS_DATA_DIR"\n')
    uv.chmod(0o755)
    return root / "as2bus"


def run(wrapper: Path, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(wrapper), "partner", "list"], cwd=cwd, env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout


def test_run_from_another_directory_it_uses_the_checkouts_var(tmp_path: Path) -> None:
    checkout, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    checkout.mkdir()
    elsewhere.mkdir()
    wrapper = checkout_copy(checkout)
    assert run(wrapper, elsewhere, {}) == f"data dir: {checkout}/var\n"


def test_a_data_directory_the_user_set_wins(tmp_path: Path) -> None:
    wrapper = checkout_copy(tmp_path)
    mine = {"AS2BUS_DATA_DIR": "/srv/as2bus"}
    assert run(wrapper, tmp_path, mine) == "data dir: /srv/as2bus\n"
