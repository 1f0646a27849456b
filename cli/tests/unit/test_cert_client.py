from pathlib import Path

import httpx
import pytest

from as2bus.cli.certs import checked_cert_id, iso_time, write_new
from as2bus.cli.client import CliError, ConfigClient


def client(handler: object) -> ConfigClient:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    return ConfigClient(
        "http://cert", "tok", transport, service="cert-svc", url_option="--cert-url"
    )


def test_uploads_send_form_fields_and_the_file() -> None:
    seen: dict[str, bytes] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["body"] = request.read()
        seen["type"] = request.headers["content-type"].encode()
        return httpx.Response(201, json={"ok": True})

    c = client(handler)
    c.upload(
        "/certificates/partner",
        {"alias": "acme", "allow_invalid_dates": False, "x": None},
        ("a.cer", b"PEMDATA"),
    )
    assert seen["type"].startswith(b"multipart/form-data")
    assert b'name="alias"\r\n\r\nacme' in seen["body"]
    assert b'name="allow_invalid_dates"\r\n\r\nfalse' in seen["body"]
    assert b'name="x"' not in seen["body"]
    assert b"PEMDATA" in seen["body"]


def test_errors_name_the_service_and_hide_secrets() -> None:
    def too_big(request: httpx.Request) -> httpx.Response:
        return httpx.Response(413, json={"detail": "request body larger than 1114112 bytes"})

    with pytest.raises(CliError, match="file too large"):
        client(too_big).upload("/x", {}, ("f", b"x"))

    def wrong(request: httpx.Request) -> httpx.Response:
        detail = [
            {"loc": ["body", "password"], "msg": "wrong password s3cret-pw", "type": "value_error"}
        ]
        return httpx.Response(422, json={"detail": detail})

    c = client(wrong)
    c.secrets.add("s3cret-pw")
    with pytest.raises(CliError) as err:
        c.upload("/x", {"password": "s3cret-pw"}, ("f", b"x"))
    assert err.value.lines == ["password: wrong password ***"]

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(CliError, match="cannot reach cert-svc at http://cert"):
        client(down).get("/certificates")


def test_exports_never_overwrite_unless_forced_and_keys_are_private(tmp_path: Path) -> None:
    target = tmp_path / "ks.p12"
    write_new(target, b"one", force=False, private=True)
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(CliError, match="--force"):
        write_new(target, b"two", force=False, private=True)
    write_new(target, b"two", force=True, private=True)
    assert target.read_bytes() == b"two"


def test_typos_in_ids_and_times_are_one_sentence_before_any_request() -> None:
    with pytest.raises(CliError, match="'abc' is not a certificate ID: take one from the ID"):
        checked_cert_id("abc")
    with pytest.raises(CliError, match="--activate-at 'tomorrow' is not a date and time"):
        iso_time("tomorrow", "--activate-at")
    assert iso_time("2026-07-01T09:00:00Z", "--activate-at") == "2026-07-01T09:00:00Z"
    assert iso_time(None, "--activate-at") is None


def test_a_server_that_does_not_take_the_connection_is_unreachable_in_one_line() -> None:
    def silent(request: httpx.Request) -> httpx.Response:
        assert request.extensions["timeout"]["connect"] == 3.0  # said within seconds
        raise httpx.ConnectTimeout("timed out")

    with pytest.raises(CliError) as err:
        client(silent).get("/certificates")
    assert err.value.lines == ["cannot reach cert-svc at http://cert — is it running? (make run)"]
