from pathlib import Path

from as2bus.shared.asyncapi import build_asyncapi, render
from as2bus.shared.contracts import registered_events
from as2bus.shared.contracts.certs import KEY_MATERIAL_SUBJECT

DOC = Path(__file__).parents[3] / "docs" / "asyncapi.json"


def test_the_committed_asyncapi_document_is_current() -> None:
    assert DOC.read_text() == render(), "docs/asyncapi.json is stale: run `make asyncapi`"


def test_every_event_is_documented_on_its_subject() -> None:
    addresses = {c["address"] for c in build_asyncapi()["channels"].values()}
    assert addresses == {e.subject for e in registered_events()} | {KEY_MATERIAL_SUBJECT}
