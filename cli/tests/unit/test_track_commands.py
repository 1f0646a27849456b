"""``as2bus track ...`` against a fake tracklog-svc behind ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from as2bus.cli import track
from as2bus.cli.client import CliError, CliState

URL = "http://tracklog.test"
TOKEN = "unit-test-token"
ROW = {
    "id": "6f1c3a52-4c1e-5b8e-9a55-0d0f6e2b7c11", "direction": "outbound",
    "message_id": "<m1@myco>", "request_id": "req-1", "station": "MYCO", "partner": "acme",
    "filename": "invoice.edi", "content_type": "application/edi-x12", "size": 10,
    "status": "failed", "error_code": "CERT_HAS_EXPIRED", "error": "CERT_HAS_EXPIRED: expired",
    "attempts": 2, "duplicates": 0, "created_at": "2026-03-02T09:00:00Z",
    "updated_at": "2026-03-02T09:00:04Z", "mdn_at": None, "time_to_mdn_ms": None,
}  # fmt: skip
EVENT = {"event_id": "e1", "occurred_at": "2026-03-02T09:00:00Z", "event_type": "MessageQueued",
         "summary": "queued for acme: invoice.edi (10 bytes)", "data": {}}  # fmt: skip
CHANGE = {"id": ROW["id"], "direction": "outbound", "message_id": "<m1@myco>", "partner": "acme",
          "station": "MYCO", "filename": None, "status": "sent", "previous_status": "queued",
          "updated_at": "2026-03-02T09:00:02Z"}  # fmt: skip
STATS = {
    "since": "2026-03-01T09:00:00Z", "until": "2026-03-02T09:00:00Z", "bucket": "hour",
    "counts": [{"bucket": "2026-03-02T09:00:00Z", "partner": "acme", "direction": "outbound",
                "status": "failed", "count": 3}],
    "time_to_mdn": [{"partner": None, "count": 5, "p50": 120, "p90": 400, "p95": 600, "p99": 900}],
    "failure_reasons": [{"error_code": "CERT_HAS_EXPIRED", "partner": "acme", "count": 3,
                         "example": "CERT_HAS_EXPIRED: expired"}],
    "certificates": [{"alias": "acme", "kind": "partner", "state": "active", "days_left": 12,
                      "not_after": "2026-03-14T00:00:00Z"}],
}  # fmt: skip


def error(result: Any) -> str:
    """What the ``as2bus`` root prints as ``error: ...`` lines (track.app alone raises it)."""
    assert result.exit_code == 1
    assert isinstance(result.exception, CliError), result.output
    return "\n".join(result.exception.lines)


def sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    text = ": listening\n\n" + "".join(f"event: {k}\ndata: {json.dumps(d)}\n\n" for k, d in events)
    return text.encode()


class Fake:
    """Answers like tracklog-svc; records the requests."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.rows = [ROW]
        self.detail = ROW | {"timeline": [EVENT]}
        self.stream = sse(("status", CHANGE), ("status", CHANGE | {"status": "failed"}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"detail": "missing or wrong API token"})
        path = request.url.path.removeprefix("/api/v1")
        if path == "/messages":
            way = request.url.params.get("direction")
            rows = [r for r in self.rows if way in (None, r["direction"])]
            return httpx.Response(200, json={"items": rows, "next_cursor": "CUR"})
        if path == f"/messages/{ROW['id']}":
            return httpx.Response(200, json=self.detail)
        if path == "/stream":
            return httpx.Response(200, content=self.stream,
                                  headers={"content-type": "text/event-stream"})  # fmt: skip
        if path == "/stats":
            return httpx.Response(200, json=STATS)
        return httpx.Response(404, json={"detail": f"message {path} not found"})


@pytest.fixture
def fake() -> Fake:
    return Fake()


@pytest.fixture
def run(fake: Fake) -> Callable[..., Any]:
    def invoke(*args: str, token: str | None = TOKEN, as_json: bool = False) -> Any:
        state = CliState(token=token, json=as_json, transport=httpx.MockTransport(fake))
        result = CliRunner().invoke(track.app, ["--tracklog-url", URL, *args], obj=state)
        assert "Traceback" not in result.output
        return result

    return invoke


def test_list_sends_the_filters_and_shows_a_table_with_the_next_cursor(
    run: Any, fake: Fake
) -> None:
    result = run("list", "--partner", "acme", "--status", "failed", "--status", "rejected",
                 "--filename", "inv", "--oldest-first", "--limit", "5")  # fmt: skip
    assert result.exit_code == 0, result.output
    query = fake.requests[0].url.params
    assert query.get_list("status") == ["failed", "rejected"]
    assert (query["partner"], query["filename"], query["order"], query["limit"]) == (
        "acme", "inv", "asc", "5",
    )  # fmt: skip
    header, row = result.stdout.splitlines()[:2]
    assert header.split() == ["CREATED", "DIR", "PARTNER", "STATUS", "MESSAGE-ID", "FILENAME",
                              "ERROR", "ID"]  # fmt: skip
    assert row.split() == ["2026-03-02T09:00:00", "out", "acme", "failed", "<m1@myco>",
                           "invoice.edi", "CERT_HAS_EXPIRED:", "expired", ROW["id"]]  # fmt: skip
    assert result.stdout.rstrip().endswith("(more: add --cursor CUR)")
    as_json = run("list", as_json=True)
    assert json.loads(as_json.stdout)["next_cursor"] == "CUR"


def test_list_cuts_a_long_error_after_a_whole_word(run: Any, fake: Fake) -> None:
    long = ("own certificate 'distco': none in service at 2026-12-05T23:52:32+00:00 and "
            "more")  # fmt: skip
    fake.rows = [ROW | {"error": long}, ROW | {"error": "x" * 60}]
    result = run("list")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()[:3]
    start, end = header.index("ERROR"), header.index(" ID") + 1
    shown = [row[start:end].rstrip() for row in rows]
    assert shown == [
        "own certificate 'distco': none in service at…",  # not "... at 2026-"
        "x" * 49 + "…",  # one word longer than the column: cut where it must be
    ]


def test_list_says_how_many_documents_follow_the_first(run: Any, fake: Fake) -> None:
    """A message of several documents (RFC 6362) is one row: its first file's name and how
    many more, not the first alone."""
    fake.rows = [
        ROW | {"filename": "order.edi", "attachment_count": 2},
        ROW | {"filename": None, "attachment_count": 1},
        ROW | {"filename": "one.edi", "attachment_count": 0},
        ROW | {"filename": "older.edi"},  # a tracklog-svc without the count
    ]
    result = run("list")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()[:5]
    start = header.index("FILENAME")
    assert [row[start:].split("  ")[0].rstrip() for row in rows] == [
        "order.edi +2", "(no name) +1", "one.edi", "older.edi",
    ]  # fmt: skip


def test_show_finds_a_message_by_its_message_id_and_prints_its_timeline(
    run: Any, fake: Fake
) -> None:
    result = run("show", "<m1@myco>")
    assert result.exit_code == 0, result.output
    assert fake.requests[0].url.params["message_id"] == "<m1@myco>"
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["status:", "failed"] in lines
    assert ["error:", "CERT_HAS_EXPIRED:", "expired"] in lines
    assert "MessageQueued  queued for acme: invoice.edi (10 bytes)" in result.stdout
    fake.rows = [ROW, ROW | {"id": "7e0c0000-0000-5000-8000-000000000000", "direction": "inbound"}]
    several = error(run("show", "<m1@myco>"))
    assert several.splitlines() == [
        "several messages have Message-ID <m1@myco>; add --direction outbound or inbound, or "
        "give one id:",
        f"{ROW['id']} (outbound, acme)",
        "7e0c0000-0000-5000-8000-000000000000 (inbound, acme)",
    ]
    one_way = run("show", "<m1@myco>", "--direction", "outbound")  # the loopback demo's case
    assert one_way.exit_code == 0, one_way.output
    assert "MessageQueued  queued for acme" in one_way.stdout
    assert fake.requests[-2].url.params["direction"] == "outbound"
    fake.rows = []
    assert error(run("show", "<zz@x>")) == "no message with Message-ID <zz@x>"
    assert error(run("show", "<zz@x>", "--direction", "inbound")) == (
        "no inbound message with Message-ID <zz@x>"
    )


def test_show_says_where_a_document_sent_inline_is_kept(run: Any, fake: Fake) -> None:
    """tracklog-svc has no reference for a small document sent inline: it printed
    "document: -", though outbound-svc keeps it and the console downloads it."""
    fake.detail = ROW | {"document": None, "timeline": [EVENT]}
    result = run("show", ROW["id"])
    assert result.exit_code == 0, result.output
    assert ("document: sent inline: outbound-svc keeps it for the document retention (the "
            "console downloads it)") in " ".join(result.stdout.split())  # fmt: skip
    fake.detail = ROW | {"status": "rejected", "document": None, "timeline": []}
    refused = run("show", ROW["id"])  # refused before it was sent: nothing of it is kept
    assert ["document:", "-"] in [line.split() for line in refused.stdout.splitlines()]


def test_watch_prints_each_change_and_stops_after_count(run: Any, fake: Fake) -> None:
    result = run("watch", "--partner", "acme", "--status", "sent", "--count", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [
        "2026-03-02T09:00:02", "outbound", "acme", "queued", "->", "sent", "<m1@myco>",
    ]  # fmt: skip
    assert fake.requests[0].url.params.get_list("status") == ["sent"]
    everything = run("watch", as_json=True)
    assert [json.loads(line)["status"] for line in everything.stdout.splitlines()] == [
        "sent", "failed",
    ]  # fmt: skip
    fake.stream = sse(("overflow", {"reload": True}))
    assert error(run("watch")).startswith("changes came faster than they were read")


def test_stats_prints_each_section(run: Any) -> None:
    result = run("stats", "--bucket", "hour")
    assert result.exit_code == 0, result.output
    for title in ("By status:", "Time to MDN (ms):", "Failure reasons:", "Certificates:"):
        assert title in result.stdout
    lines = result.stdout.splitlines()
    assert "(all)    5      120  400  600  900" in lines
    assert "2026-03-02T09:00  acme     out  failed  3" in lines
    assert "CERT_HAS_EXPIRED  acme     3      CERT_HAS_EXPIRED: expired" in lines
    assert "acme   partner  active  12         2026-03-14" in lines


def test_a_missing_token_is_reported_and_the_stored_one_is_used(
    run: Any, fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked = tmp_path / "var" / "secrets" / "tokens" / "admin"  # ./var, the working directory
    for command in (["list"], ["watch"]):
        assert error(run(*command, token=None)) == (
            f"no API token found (looked in {looked}): run `make run` first, or set "
            "AS2BUS_API_TOKEN / --token"
        )
        assert error(run(*command, token="wrong")).startswith("the API token was refused")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "api-token").write_text(TOKEN + "\n")
    monkeypatch.setenv("AS2BUS_DATA_DIR", str(tmp_path))
    assert run("list", token=None).exit_code == 0


def test_an_unreachable_service_names_the_url_option() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    state = CliState(token=TOKEN, transport=httpx.MockTransport(down))
    result = CliRunner().invoke(track.app, ["--tracklog-url", URL, "list"], obj=state)
    assert error(result).startswith(f"cannot reach tracklog-svc at {URL}")


def test_show_prints_each_attachment_on_a_line_not_as_a_dict(run: Any, fake: Fake) -> None:
    """Before, the documents after the first printed as the API's dicts ({'filename': ...})."""
    attachments = [
        {"filename": "LICENSE", "content_type": "text/plain", "size": 11358, "document": None},
        {"filename": None, "content_type": "application/pdf", "size": 8,
         "document": {"bucket": "as2bus-documents", "name": "out/x", "size": 8, "sha256": None}},
    ]  # fmt: skip
    fake.detail = ROW | {"attachments": attachments, "timeline": [EVENT]}
    result = run("show", ROW["id"])
    assert result.exit_code == 0, result.output
    line = " ".join(result.stdout.split())
    assert ("attachments: document 2: LICENSE (text/plain, 11358 bytes, sent inline); "
            "document 3: no file name (application/pdf, 8 bytes)") in line  # fmt: skip
    assert "{" not in result.stdout


def test_a_partners_file_name_subject_and_reason_reach_the_terminal_escaped(
    run: Any, fake: Fake
) -> None:
    """A partner chooses them: an escape sequence in one would colour, retitle or hide the
    operator's terminal (security review rv3, defect 10). Each control character is written
    out instead, and each value stays on its line."""
    hostile = {
        "filename": "esc\x1b[31mRED\x1b[0m.edi\u202etxt.exe", "subject": "title\x1b]0;pwned\x07",
        "error": "refused: \x9b2J gone\nX-Injected: 1", "partner": "ac\x1bme",
        "message_id": "<m1\x1b[8m@acme>",
    }  # fmt: skip
    fake.detail = ROW | hostile | {"timeline": [EVENT | {"summary": "from \x1b[5macme"}]}
    fake.stream = sse(("status", CHANGE | {"partner": "ac\x1bme", "message_id": "<\x1b[8m>"}))

    shown = run("show", ROW["id"])
    watched = run("watch", "--count", "1")

    for result in (shown, watched):
        assert result.exit_code == 0, result.output
        assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(result.stdout)
    flat = " ".join(shown.stdout.split())  # without the columns' padding
    assert "filename: esc\\x1b[31mRED\\x1b[0m.edi\\u202etxt.exe" in flat
    assert "subject: title\\x1b]0;pwned\\x07" in flat
    assert "error: refused: \\x9b2J gone\\nX-Injected: 1" in flat
    assert "from \\x1b[5macme" in flat
    assert "ac\\x1bme" in watched.stdout
    assert "<\\x1b[8m>" in watched.stdout
