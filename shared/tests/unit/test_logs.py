import asyncio
import json
import logging

import pytest

from as2bus.shared.logs import about_message, configure_logging, note_message, one_line, redact


@pytest.mark.parametrize(
    ("line", "leak"),
    [
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy"),
        ('{"password": "hunter2"}', "hunter2"),
        ("token=s3cr3t&x=1", "s3cr3t"),
        ("api_key: k-123", "k-123"),
    ],
)
def test_credentials_are_masked(line: str, leak: str) -> None:
    assert leak not in redact(line)
    assert "***" in redact(line)


def test_ordinary_text_is_left_alone() -> None:
    line = "partner amazon sent message <abc@example.com> (12 KB)"
    assert redact(line) == line


def test_the_configured_handler_masks_what_reaches_it(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test-svc", "INFO", json_lines=True)
    logging.getLogger("x").warning("calling partner with password=%s", "hunter2")
    err = capsys.readouterr().err
    assert "hunter2" not in err
    assert '"level": "warning"' in err
    logging.getLogger().handlers.clear()


def test_request_urls_with_query_tokens_are_not_logged(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test-svc", "INFO")
    logging.getLogger("httpx").info(
        'HTTP Request: POST https://p.example/as2?key=tok-secret "HTTP/1.1 200 OK"'
    )
    assert "tok-secret" not in capsys.readouterr().err
    logging.getLogger().handlers.clear()


def test_an_error_is_one_line_with_its_type() -> None:
    assert one_line(ConnectionRefusedError("[Errno 111] Connect call failed\nmore")) == (
        "ConnectionRefusedError: [Errno 111] Connect call failed"
    )
    assert one_line(TimeoutError()) == "TimeoutError"
    assert len(one_line(ValueError("x" * 1000))) == 300


def _json_lines(err: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_json_lines_name_the_message_worked_on(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test-svc", "INFO", json_lines=True)
    log = logging.getLogger("as2bus.test")
    with about_message("<m1@a>", partner="B", station="A"):
        log.info("sending")
    log.info("idle")
    lines = _json_lines(capsys.readouterr().err)
    logging.getLogger().handlers.clear()
    assert [(line["msg"], line.get("message_id"), line.get("partner")) for line in lines] == [
        ("sending", "<m1@a>", "B"),
        ("idle", None, None),
    ]
    assert "trace_id" not in lines[0]  # tracing is off: no trace to name


async def test_concurrent_tasks_each_name_their_own_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A request's task notes its message for the rest of the task, and only there."""
    configure_logging("test-svc", "INFO", json_lines=True)
    log = logging.getLogger("as2bus.test")
    both_noted = asyncio.Barrier(2)

    async def request(message_id: str) -> None:
        note_message(message_id, partner="P")
        await both_noted.wait()
        log.info("answered %s", message_id)

    await asyncio.gather(request("<r1@p>"), request("<r2@p>"))
    log.info("after")
    lines = _json_lines(capsys.readouterr().err)
    logging.getLogger().handlers.clear()
    named = {line["msg"]: line.get("message_id") for line in lines}
    assert named == {"answered <r1@p>": "<r1@p>", "answered <r2@p>": "<r2@p>", "after": None}
