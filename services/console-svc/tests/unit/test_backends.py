"""The other services' answers as the pages get them (httpx's mock transport, no server)."""

from __future__ import annotations

import httpx
import pytest

from as2bus.console.adapters.backends import Backend, BackendError, BackendRefused


def backend(answer: httpx.Response, seen: list[httpx.Request] | None = None) -> Backend:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return answer

    transport = httpx.MockTransport(handle)
    return Backend("config-svc", httpx.AsyncClient(transport=transport, base_url="http://x"))


async def test_a_change_names_its_actor_and_brings_back_the_reasons_per_field() -> None:
    seen: list[httpx.Request] = []
    refused = {"detail": [{"loc": ["body", "as2_id"], "msg": "not an AS2 ID"},
                          {"loc": ["body", "as2_id"], "msg": "too long"},
                          {"loc": ["body"], "msg": "one of the two"}]}  # fmt: skip
    change = await backend(httpx.Response(422, json=refused), seen).change(
        "POST", "/api/v1/partners", actor="ann@example.com", json={"as2_id": "?"}
    )
    assert seen[0].headers["X-As2bus-Actor"] == "ann@example.com"
    assert not change.ok
    assert change.errors == {"as2_id": "not an AS2 ID; too long", "": "one of the two"}
    conflict = await backend(httpx.Response(409, json={"detail": "used by 2"})).change(
        "DELETE", "/api/v1/partners/1", actor="ann@example.com"
    )
    assert conflict.errors == {"": "used by 2"}
    gone = await backend(httpx.Response(404, json={"detail": "no partner 1"})).change(
        "DELETE", "/api/v1/partners/1", actor="ann@example.com"
    )
    assert (gone.ok, gone.errors) == (False, {"": "no partner 1"})
    done = await backend(httpx.Response(201, json={"id": "1"})).change(
        "POST", "/api/v1/partners", actor="ann@example.com", json={}
    )
    assert (done.ok, done.body, done.errors) == (True, {"id": "1"}, {})


async def test_a_failing_service_is_one_sentence_and_files_keep_their_names() -> None:
    with pytest.raises(BackendError, match="config-svc answered 503"):
        await backend(httpx.Response(503, text="down")).change("POST", "/x", actor="a")
    headers = {"content-disposition": 'attachment; filename="myco.cer"',
               "content-type": "application/x-pem-file"}  # fmt: skip
    found = await backend(httpx.Response(200, content=b"PEM", headers=headers)).file("/c")
    assert found is not None
    assert (found.content, found.filename, found.media_type) == (
        b"PEM", "myco.cer", "application/x-pem-file",
    )  # fmt: skip
    assert await backend(httpx.Response(404)).file("/c") is None


async def test_a_refusal_is_told_apart_from_a_service_away() -> None:
    """A 4xx (a damaged id or filter in a link) brings its status and reasons, so that a page
    can say what is wrong with the link; a 5xx is the service away, as before."""
    said = "Input should be 'queued'"
    refused = {"detail": [{"loc": ["query", "status", 0], "msg": said}]}
    with pytest.raises(BackendRefused) as caught:
        await backend(httpx.Response(422, json=refused)).get("/api/v1/messages")
    assert (caught.value.status, caught.value.reasons) == (422, {"status.0": said})
    with pytest.raises(BackendError) as away:
        await backend(httpx.Response(503, text="down")).get("/api/v1/messages")
    assert not isinstance(away.value, BackendRefused)
