"""``as2bus send`` as a user runs it: an unreachable gateway is one line, at once; each file
goes with the content type of what it is, unless --content-type names one for all."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from as2bus.cli import send as send_command
from as2bus.cli.main import app
from as2bus.testing.infra import free_port


def test_an_unreachable_nats_is_one_line_within_seconds(tmp_path: Path) -> None:
    document = tmp_path / "po.edi"
    document.write_bytes(b"ISA*00~")
    url = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "as2bus.cli", "send", str(document), "--from", "MYCO", "--to",
         "acme", "--nats-url", url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    output = (done.stdout + done.stderr).splitlines()
    assert output == [
        f"error: cannot reach NATS at {url} (nats: no servers available for connection): "
        "is the gateway running? (set --nats-url or AS2BUS_NATS_URL)"
    ]
    assert done.returncode == 1
    # Not a performance bound: without a bounded connect the CLI waited for the subprocess's
    # 60 s timeout. 20 s leaves room for a machine busy with other tests.
    assert took < 20, f"took {took:.1f} s"


def test_a_negative_wait_or_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "po.edi").write_bytes(b"ISA*00~")  # the tests run in tmp_path (conftest)
    (tmp_path / "folder").mkdir()
    route = ["--from", "MYCO", "--to", "acme", "--nats-url", f"nats://127.0.0.1:{free_port()}"]
    said = {
        "Invalid value for '--wait'": ["po.edi", "--wait", "-1"],
        "'missing.edi' does not exist": ["missing.edi"],
        "'folder' is a directory": ["folder"],
    }
    for words, args in said.items():
        result = CliRunner().invoke(app, ["send", *args, *route])
        assert result.exit_code == 2, result.output
        assert words in result.output


class PublishedRequests:
    """Stands in for ``_send`` (NATS): what ``as2bus send`` would publish."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def __call__(
        self, nats_url: str, data: bytes, wait: float, **fields: Any
    ) -> tuple[Any, None]:
        self.sent.append({"data": data, **fields})
        return SimpleNamespace(request_id="r1"), None


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> PublishedRequests:
    found = PublishedRequests()
    monkeypatch.setattr(send_command, "_send", found)
    return found


def test_without_content_type_each_file_goes_as_what_it_is(
    tmp_path: Path, published: PublishedRequests
) -> None:
    """An EDIFACT file is not labelled X12 (partners route by the label), and the user sees
    the type each file went as."""
    (tmp_path / "order.edi").write_bytes(b"\xef\xbb\xbfUNA:+.? 'UNB+UNOC:3+MYCO+ACME'")
    (tmp_path / "po.txt").write_bytes(b"ISA*00*          *00~")
    (tmp_path / "invoice.xml").write_bytes(b"<Invoice/>")
    (tmp_path / "drawing.pdf").write_bytes(b"%PDF-1.7")
    files = ["order.edi", "po.txt", "invoice.xml", "drawing.pdf"]
    result = CliRunner().invoke(app, ["send", *files, "--from", "MYCO", "--to", "acme",
                                      "--wait", "0"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (request,) = published.sent
    assert (request["filename"], request["content_type"]) == ("order.edi", "application/edifact")
    assert [(a.filename, a.content_type) for a in request["attachments"]] == [
        ("po.txt", "application/edi-x12"), ("invoice.xml", "application/xml"),
        ("drawing.pdf", "application/pdf"),
    ]  # fmt: skip
    assert result.output.splitlines()[0] == (
        "send request r1: order.edi as application/edifact, po.txt as application/edi-x12, "
        "invoice.xml as application/xml, drawing.pdf as application/pdf (72 bytes) MYCO -> acme"
    )


def test_a_content_type_given_goes_for_every_file(
    tmp_path: Path, published: PublishedRequests
) -> None:
    (tmp_path / "order.edi").write_bytes(b"UNB+UNOC:3+MYCO+ACME'")
    (tmp_path / "drawing.pdf").write_bytes(b"%PDF-1.7")
    result = CliRunner().invoke(app, ["send", "order.edi", "drawing.pdf", "--from", "MYCO",
                                      "--to", "acme", "--wait", "0",
                                      "--content-type", "text/plain"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (request,) = published.sent
    assert request["content_type"] == "text/plain"
    assert [a.content_type for a in request["attachments"]] == ["text/plain"]
    assert "order.edi as text/plain, drawing.pdf as text/plain" in result.output


def test_a_content_type_that_is_not_a_mime_type_is_a_usage_error_and_nothing_is_sent(
    tmp_path: Path, published: PublishedRequests
) -> None:
    """The send request's own rule, said before anything is published (it went to the
    partner before)."""
    (tmp_path / "order.edi").write_bytes(b"UNB+UNOC:3+MYCO+ACME'")
    result = CliRunner().invoke(app, ["send", "order.edi", "--from", "MYCO", "--to", "acme",
                                      "--content-type", "not a type!!"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert (
        "Invalid value for '--content-type': 'not a type!!' is not a MIME type (type/subtype, "
        "e.g. application/edi-x12)"
    ) in " ".join(result.output.replace("│", " ").split())
    assert "Traceback" not in result.output
    assert published.sent == []
