import pytest

from as2bus.inbound.domain import Answer, document_name, received_event_id
from as2bus.inbound.settings import InboundSettings


def test_the_received_event_id_depends_only_on_partner_and_message_id() -> None:
    assert received_event_id("acme", "<1@a>") == received_event_id("acme", "<1@a>")
    assert received_event_id("acme", "<1@a>") != received_event_id("other", "<1@a>")
    assert received_event_id("acme", "<1@a>") != received_event_id("acme", "<2@a>")


def test_document_names_are_safe_whatever_the_message_id() -> None:
    name = document_name("acme corp", "<weird/id with spaces@x>")
    assert name.startswith("in/")
    assert all(c.isalnum() or c in "/-" for c in name)


def test_text_answers_end_with_a_newline() -> None:
    answer = Answer.text(400, "bad")
    assert answer.body == b"bad\n"
    assert answer.headers["Content-Type"] == "text/plain"


def test_settings_read_their_prefixed_variables_and_ignore_lookalikes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # a bare "path" alias would pick this up
    monkeypatch.setenv("AS2BUS_INBOUND_MAX_BODY_BYTES", "1234")
    settings = InboundSettings()
    assert settings.path == "/as2"
    assert settings.max_body_bytes == 1234
