from pathlib import Path

import pytest

from as2bus.cli.inbox_files import SEEN_FILE, safe_name, save, seen


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("po.x12", "po.x12"),
        ("../../etc/passwd", "passwd"),
        ("C:\\evil\\path\\inv.edi", "inv.edi"),
        (".hidden", "hidden"),
        ("we;ird|na*me.txt", "we_ird_na_me.txt"),
        (None, "fallback.dat"),
        ("..", "fallback.dat"),
    ],
)
def test_partner_filenames_cannot_escape_the_folder(given: str | None, expected: str) -> None:
    assert safe_name(given, "fallback.dat") == expected


def test_existing_files_are_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "po.x12").write_bytes(b"already here")
    first = save(tmp_path, "po.x12", b"one", "e1")
    second = save(tmp_path, "po.x12", b"two", "e2")
    assert (tmp_path / "po.x12").read_bytes() == b"already here"
    assert first.name == "po (1).x12"
    assert second.name == "po (2).x12"
    assert first.read_bytes() == b"one"
    assert seen(tmp_path) == {"e1", "e2"}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    assert (tmp_path / SEEN_FILE).exists()
