"""The configuration pages (AS2 Instances, Partner, PartnerShip) in process, with a fake
config-svc keeping its entities in memory and recording every change asked of it, a fake
cert-svc with one keystore, and a fake tracklog-svc answering how many messages are in flight."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest

from as2bus.console.adapters.backends import Change, File
from as2bus.console.domain.causes import cause_of
from as2bus.console.domain.partner_facts import DEFAULT_ATTEMPTS
from as2bus.console.domain.partner_form import LABELS, partner_values
from as2bus.console.domain.roles import Role
from as2bus.console.wiring import wiring
from as2bus.shared.keyring import no_key_yet

from .conftest import FakeTracklog, client, csrf_of, sign_in

ADMIN, VIEWER, OPERATOR = "admin@example.com", "viewer@example.com", "operator@example.com"
SECRET = "pa55-w0rd-never-shown"


class FakeConfig:
    """config-svc's stations, partners and partnerships; ``refuse_next`` answers the next
    change instead of making it."""

    name = "config-svc"

    def __init__(self) -> None:
        self.stations: dict[str, dict[str, Any]] = {}
        self.partners: dict[str, dict[str, Any]] = {}
        self.partnerships: dict[str, dict[str, Any]] = {}
        self.changes: list[tuple[str, str, str, Any]] = []  # method, path, actor, json
        self.refuse_next: Change | None = None

    def _store(self, path: str) -> tuple[dict[str, dict[str, Any]], str]:
        kind, _, ref = path.removeprefix("/api/v1/").partition("/")
        store: dict[str, dict[str, Any]] = getattr(self, kind)
        return store, ref

    async def get(self, path: str, params: Any = None) -> Any:
        store, ref = self._store(path)
        if ref:
            return store.get(ref)
        return [e for e in store.values() if all(e.get(k) == v for k, v in (params or {}).items())]

    async def change(
        self, method: str, path: str, *, actor: str, json: Any = None, **_: Any
    ) -> Change:
        self.changes.append((method, path, actor, json))
        if self.refuse_next is not None:
            answer, self.refuse_next = self.refuse_next, None
            return answer
        store, ref = self._store(path)
        if method == "DELETE":
            del store[ref]
            return Change(204, None)
        if method == "PATCH":
            store[ref].update(json)
            return Change(200, store[ref])
        return Change(201, self.add(store, dict(json)))

    def add(self, store: dict[str, dict[str, Any]], fields: dict[str, Any]) -> dict[str, Any]:
        made = {"id": str(uuid.uuid4()), "enabled": True, **fields}
        if store is self.partnerships:
            made["station_as2_id"] = self.stations[made["station_id"]]["as2_id"]
            made["partner_as2_id"] = self.partners[made["partner_id"]]["as2_id"]
        if "http_auth" in made:  # as config-svc answers: secrets only as "set"
            auth = dict(made["http_auth"])
            if auth["type"] == "basic":
                auth["password_set"] = bool(auth.pop("password", None))
            made["http_auth"] = auth
        store[made["id"]] = made
        return made


class FakeCert:
    name = "cert-svc"

    def __init__(self) -> None:
        self.keystores: list[dict[str, Any]] = []
        self.certificates: list[dict[str, Any]] = []
        self.files: dict[str, File] = {}

    async def get(self, path: str, params: Any = None) -> Any:
        if path == "/api/v1/certificates":
            wanted = params or {}
            return [c for c in self.certificates if all(c[k] == v for k, v in wanted.items())]
        return self.keystores if path == "/api/v1/keystores" else None

    async def file(self, path: str) -> File | None:
        return self.files.get(path)


class InFlight(FakeTracklog):
    """tracklog-svc with ``waiting`` outbound messages in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0

    async def get(self, path: str, params: Any = None) -> Any:
        if path == "/api/v1/messages" and (params or {}).get("direction") == "outbound":
            self.asked.append((path, params))
            items = [{"id": str(n), "status": "queued"} for n in range(self.waiting)]
            return {"items": items, "next_cursor": None}
        return await super().get(path, params)


class ConfigBackends:
    def __init__(self) -> None:
        self.config = FakeConfig()
        self.cert = FakeCert()
        self.tracklog = InFlight()


@pytest.fixture
async def backends(app: Any) -> ConfigBackends:
    found = ConfigBackends()
    fakes = wiring.replace(app, backends=found)
    await fakes.accounts.create_user(OPERATOR, Role.OPERATOR, "correct horse battery")
    return found


def pair(b: ConfigBackends, *, partner_enabled: bool = True) -> dict[str, Any]:
    """Station MYCO, partner ACME and their partnership."""
    station = b.config.add(b.config.stations, {"as2_id": "MYCO", "name": "My Company",
                           "private_key_alias": "myco", "email": "as2@myco.example"})  # fmt: skip
    partner = b.config.add(b.config.partners, {
        "as2_id": "ACME", "name": "Acme Corp", "as2_alias": "acme", "enabled": partner_enabled,
        "as2_url": "https://acme.example/as2", "http_auth": {"type": "none"},
        "signing_alg": "sha256", "encryption_alg": "aes256-cbc", "mdn_signing_alg": "sha256",
        "compression": "none", "outgoing_encoding": "binary", "mdn_mode": "sync",
        "mdn_signature": "required", "max_concurrency": 25,
    })  # fmt: skip
    return b.config.add(b.config.partnerships,
                        {"station_id": station["id"], "partner_id": partner["id"]})  # fmt: skip


def error_of(html: str, field: str) -> str:
    found = re.search(rf'id="f-{field}-error">([^<]*)<', html)
    assert found is not None, f"no error shown next to {field}"
    return found.group(1)


async def test_every_role_reads_the_lists_and_only_admins_get_the_buttons(
    app: Any, backends: ConfigBackends
) -> None:
    async with client(app) as http:
        await sign_in(http, VIEWER)
        empty = await http.get("/partners")
        assert "No partners yet" in empty.text
        ship = pair(backends)
        for path, shown in (("/stations", "My Company"), ("/partners", "Acme Corp"),
                            ("/partnerships", f"/partnerships/{ship['id']}")):  # fmt: skip
            page = await http.get(path)
            assert page.status_code == 200
            assert shown in page.text
            assert "New " not in page.text
            assert "Disable" not in page.text
        assert '<span class="status status-on">On</span>' in (await http.get("/partners")).text
        partner = await http.get(f"/partners/{ship['partner_id']}")
        assert 'id="partner-settings"' in partner.text  # its settings to read, no form
        assert 'id="partner-form"' not in partner.text
        assert (await http.get("/partners/new")).status_code == 403
    async with client(app) as http:
        await sign_in(http, ADMIN)
        assert 'id="new-partner">New Partner</a>' in (await http.get("/partners")).text
        assert 'id="new-station">New AS2 Instance</a>' in (await http.get("/stations")).text


async def test_the_as2_instances_page_says_once_what_the_cli_calls_them(
    app: Any, backends: ConfigBackends
) -> None:
    """`as2bus station` and the console's AS2 Instances are one thing under two names: the
    list says so, once; the other pages do not repeat it."""
    hint = "The CLI calls them stations (<code>as2bus station list</code>)."
    ship = pair(backends)
    async with client(app) as http:
        await sign_in(http, VIEWER)
        assert (await http.get("/stations")).text.count(hint) == 1
        for path in (f"/stations/{ship['station_id']}", "/partners", "/partnerships"):
            other = await http.get(path)
            assert other.status_code == 200
            assert "The CLI calls" not in other.text


async def test_creating_a_partner_sends_its_json_for_the_user_and_never_shows_the_secret(
    app: Any, backends: ConfigBackends
) -> None:
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/partners/new")
        assert 'value="aes256-cbc" selected>AES-256-CBC (recommended)' in form.text
        answer = await http.post("/partners", data={
            "csrf": csrf_of(form.text), "as2_id": "ACME", "name": "Acme Corp", "as2_alias": "",
            "email": "", "enabled": "on", "as2_url": "https://acme.example/as2",
            "signing_alg": "sha256", "encryption_alg": "none", "mdn_mode": "sync",
            "max_concurrency": "5", "rate_limit_per_second": "", "auth_type": "basic",
            "auth_username": "myco", "auth_password": SECRET,
        })  # fmt: skip
        assert answer.status_code == 303
        assert answer.headers["location"] == "/partners?done=Partner+ACME+created."
        ((method, path, actor, body),) = backends.config.changes
        assert (method, path, actor) == ("POST", "/api/v1/partners", ADMIN)
        assert body == {
            "as2_id": "ACME", "name": "Acme Corp", "as2_url": "https://acme.example/as2",
            "enabled": True, "signing_alg": "sha256", "encryption_alg": None,
            "mdn_mode": "sync", "max_concurrency": 5,
            "http_auth": {"type": "basic", "username": "myco", "password": SECRET},
        }  # fmt: skip
        listed = await http.get(answer.headers["location"])
        assert 'id="done">Partner ACME created.</p>' in listed.text
        (made,) = backends.config.partners
        page = await http.get(f"/partners/{made}")
        assert SECRET not in page.text
        assert "Stored: set. Leave empty to keep it." in page.text


async def test_a_refusal_shows_next_to_its_field_and_the_form_keeps_what_was_typed(
    app: Any, backends: ConfigBackends
) -> None:
    backends.config.refuse_next = Change(422, None, {
        "as2_id": "Value error, must not contain a double quote or a backslash",
        "http_auth.basic.username": "String should have at least 1 character",
    })  # fmt: skip
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/partners/new")
        answer = await http.post("/partners", data={
            "csrf": csrf_of(form.text), "as2_id": 'AC"ME', "name": "Acme <Corp>",
            "as2_url": "https://acme.example/as2", "auth_type": "basic", "auth_username": "",
            "auth_password": SECRET,
        })  # fmt: skip
    assert answer.status_code == 422
    html = answer.text
    assert error_of(html, "as2_id") == "must not contain a double quote or a backslash"
    assert error_of(html, "auth_username") == "User name is required"
    assert 'value="AC&#34;ME"' in html
    assert 'value="Acme &lt;Corp&gt;"' in html
    assert 'value="basic" selected' in html
    assert SECRET not in html
    # the emptied password says why, rather than look as if it had been kept
    note = re.search(r'id="f-auth_password-set">([^<]*)<', html)
    assert note is not None
    assert note.group(1) == "Not kept after the refusal: type it again."
    assert 'aria-describedby="f-auth_password-set"' in html


async def test_a_refused_edit_says_the_stored_password_stays_if_left_empty(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    partner = backends.config.partners[ship["partner_id"]]
    partner["http_auth"] = {"type": "basic", "username": "myco", "password_set": True}
    backends.config.refuse_next = Change(422, None, {"name": "String should have at most 80"})
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = await http.get(f"/partners/{partner['id']}")
        assert "Not kept after the refusal" not in page.text  # nothing refused yet
        fields = {**partner_values(partner), "name": "x" * 90, "auth_password": SECRET}
        answer = await http.post(f"/partners/{partner['id']}",
                                 data={**fields, "csrf": csrf_of(page.text)})  # fmt: skip
    assert answer.status_code == 422
    assert SECRET not in answer.text
    assert ("Not kept after the refusal: type it again, or leave it empty to keep the stored "
            "one.") in answer.text  # fmt: skip


async def test_saving_a_partner_sends_only_what_changed_and_keeps_its_secrets(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    partner = backends.config.partners[ship["partner_id"]]
    partner["http_auth"] = {"type": "basic", "username": "myco", "password_set": True}
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = await http.get(f"/partners/{partner['id']}")
        assert 'id="f-auth_username" name="auth_username" type="text" value="myco"' in page.text
        # What the browser posts back: the form as shown (partner_values), one field changed.
        fields = {**partner_values(partner), "name": "Acme Corporation", "auth_password": ""}
        fields["csrf"] = csrf_of(page.text)
        answer = await http.post(f"/partners/{partner['id']}", data=fields)
    assert answer.status_code == 303, answer.text
    ((method, path, _, body),) = backends.config.changes
    assert (method, path) == ("PATCH", f"/api/v1/partners/{partner['id']}")
    assert body == {"name": "Acme Corporation"}  # no http_auth: the password stays


async def test_deleting_a_station_in_use_shows_why_not(app: Any, backends: ConfigBackends) -> None:
    ship = pair(backends)
    used = "station is used by 1 partnership(s) (MYCO->ACME); delete them first"
    backends.config.refuse_next = Change(409, None, {"id": used})
    async with client(app) as http:
        await sign_in(http, ADMIN)
        confirm = await http.get(f"/stations/{ship['station_id']}/delete")
        assert 'id="confirm-delete"' in confirm.text
        answer = await http.post(f"/stations/{ship['station_id']}/delete",
                                 data={"csrf": csrf_of(confirm.text)})  # fmt: skip
    assert answer.status_code == 409
    shown = used.replace(">", "&gt;")  # escaped
    assert "AS2 Instance MYCO cannot be deleted:</strong> " + shown in answer.text
    assert ship["station_id"] in backends.config.stations


async def test_a_partnership_with_messages_in_flight_is_not_deleted(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    backends.tracklog.waiting = 2
    async with client(app) as http:
        await sign_in(http, ADMIN)
        confirm = await http.get(f"/partnerships/{ship['id']}/delete")
        data = {"csrf": csrf_of(confirm.text)}
        refused = await http.post(f"/partnerships/{ship['id']}/delete", data=data)
        assert refused.status_code == 409
        assert "2 messages are still in flight" in refused.text
        assert "must settle first" in refused.text
        assert backends.config.changes == []
        (_, asked), *_ = backends.tracklog.asked
        assert (asked["station"], asked["partner"]) == ("MYCO", "ACME")
        assert asked["status"] == ["queued", "sending", "sent", "retrying"]
        backends.tracklog.waiting = 0
        deleted = await http.post(f"/partnerships/{ship['id']}/delete", data=data)
    assert deleted.headers["location"].startswith("/partnerships?done=PartnerShip+MYCO")
    assert backends.config.changes == [("DELETE", f"/api/v1/partnerships/{ship['id']}", ADMIN,
                                        None)]  # fmt: skip


async def test_a_disabled_partner_cannot_be_chosen_and_its_refusal_is_shown(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends, partner_enabled=False)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/partnerships/new")
        assert re.search(r"disabled>ACME · Acme Corp \(disabled: enable it first\)", form.text)
        backends.config.refuse_next = Change(
            422, None, {"partner_id": "partner 'ACME' is disabled; enable it first"}
        )
        answer = await http.post("/partnerships", data={
            "csrf": csrf_of(form.text), "station_id": ship["station_id"],
            "partner_id": ship["partner_id"],
        })  # fmt: skip
    assert answer.status_code == 422
    assert (
        error_of(answer.text, "partner_id") == "partner &#39;ACME&#39; is disabled; enable it first"
    )


async def test_switching_a_partner_off(app: Any, backends: ConfigBackends) -> None:
    ship = pair(backends)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = await http.get("/partners")
        switch = f"/partners/{ship['partner_id']}/enabled"
        # The list's Disable asks first: switching a partner off stops its traffic at once.
        question = await http.post(switch, data={"csrf": csrf_of(page.text), "enabled": "off"})
        assert question.status_code == 200
        assert "Switch partner ACME off?" in question.text
        assert "unknown-trading-partner" in question.text
        assert '<a href="/partners">Cancel</a>' in question.text
        assert backends.config.changes == []
        answer = await http.post(switch, data={"csrf": csrf_of(question.text), "enabled": "off",
                                               "back": "list", "confirmed": "yes"})  # fmt: skip
        assert answer.headers["location"] == "/partners?done=Partner+ACME+is+off."
        after = await http.get(answer.headers["location"])
    assert backends.config.changes == [("PATCH", f"/api/v1/partners/{ship['partner_id']}",
                                        ADMIN, {"enabled": False})]  # fmt: skip
    assert '<span class="status status-off">Off</span>' in after.text


@pytest.mark.parametrize("email", [VIEWER, OPERATOR])
async def test_only_admins_may_post_any_configuration_form(
    app: Any, backends: ConfigBackends, email: str
) -> None:
    ship = pair(backends)
    s, p, x = ship["station_id"], ship["partner_id"], ship["id"]
    posts = ["/stations", f"/stations/{s}", f"/stations/{s}/delete", "/partners",
             f"/partners/{p}", f"/partners/{p}/enabled", f"/partners/{p}/delete",
             "/partnerships", f"/partnerships/{x}/enabled",
             f"/partnerships/{x}/delete"]  # fmt: skip
    async with client(app) as http:
        await sign_in(http, email)
        csrf = csrf_of((await http.get("/partners")).text)
        for path in posts:
            answer = await http.post(path, data={"csrf": csrf, "enabled": "off", "name": "x"})
            assert answer.status_code == 403, path
    assert backends.config.changes == []


async def test_download_public_key_passes_cert_svc_s_file_through(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    backends.cert.keystores = [{
        "id": "ks-1", "station_as2_id": "MYCO", "partner_as2_id": "ACME",
        "own_certificates": [{"alias": "myco@acme", "state": "active", "subject": "CN=myco",
                              "fingerprint_sha256": "AB:CD", "not_after": "2028-01-01T00:00:00Z",
                              "activation_at": "2026-01-01T00:00:00Z"}],
        "partner_certificates": [],
    }]  # fmt: skip
    backends.cert.files["/api/v1/keystores/ks-1/certificate.cer"] = File(
        pem, "application/x-pem-file", 'myco@acme.cer"; x="'
    )
    async with client(app) as http:
        await sign_in(http, VIEWER)
        page = await http.get(f"/partnerships/{ship['id']}")
        assert 'id="download-public-key">Download PublicKey</a>' in page.text
        # The way to its keystore's page (rotation, every certificate), which it lacked.
        assert '<a href="/certificates/ks-1">Keystore MYCO → ACME</a>' in page.text
        assert "CN=myco" in page.text
        assert "AB:<wbr>CD" in page.text  # a fingerprint breaks only between its pairs
        answer = await http.get(f"/partnerships/{ship['id']}/certificate.cer")
    assert answer.status_code == 200
    assert answer.content == pem
    assert answer.headers["content-type"] == "application/x-pem-file"
    assert answer.headers["content-disposition"] == 'attachment; filename="myco@acme.cer___x__"'


async def test_without_a_keystore_the_page_says_why_and_links_to_make_one(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = await http.get(f"/partnerships/{ship['id']}")
        download = await http.get(f"/partnerships/{ship['id']}/certificate.cer")
    assert "Download PublicKey" not in page.text
    assert "this PartnerShip has no keystore, and its AS2 Instance no key" in page.text
    assert 'href="/certificates/new?station=MYCO&amp;partner=ACME"' in page.text
    assert download.status_code == 404
    # A send before the keystore exists is told to use this link, by its words: the console's
    # advice for the refusal and the refusal's reason (the CLI's verdict) both name it.
    assert 'id="create-certificates">Create its certificates</a>' in page.text
    for advice in (cause_of("CERT_NOT_FOUND").todo, cause_of("certificate-unavailable").todo):
        assert "open the PartnerShip and Create its certificates" in advice
    assert 'the PartnerShip\'s "Create its certificates"' in no_key_yet("MYCO", "ACME")


async def test_without_a_keystore_the_page_shows_the_station_key_it_signs_with(
    app: Any, backends: ConfigBackends
) -> None:
    """Before, a partnership signing with its station's key (made before keystores) was said
    to have no certificates, though its messages were signed and verified."""
    ship = pair(backends)
    backends.cert.certificates = [
        {"id": "c-1", "alias": "myco", "kind": "own", "state": "active", "subject": "CN=MYCO",
         "fingerprint_sha256": "70:78:5A", "not_after": "2028-12-05T02:56:23Z",
         "activation_at": "2026-01-01T00:00:00Z"},
        {"id": "c-2", "alias": "acme", "kind": "partner", "state": "active",
         "subject": "CN=Acme", "fingerprint_sha256": "0C:1D", "not_after": "2027-06-01T00:00:00Z",
         "activation_at": "2026-01-01T00:00:00Z"},
    ]  # fmt: skip
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    backends.cert.files["/api/v1/certificates/c-1/certificate.pem"] = File(
        pem, "application/x-pem-file", "myco.cer"
    )
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = (await http.get(f"/partnerships/{ship['id']}")).text
        download = await http.get(f"/partnerships/{ship['id']}/certificate.cer")
    assert "has no certificates" not in page
    start, middle, end = (page.index(f'id="{at}"') for at in ("side-ours", "side-partner",
                                                              "download-public-key"))  # fmt: skip
    ours, theirs = page[start:middle], page[middle:end]
    assert "signs and decrypts with the AS2 Instance's key, alias <code>myco</code>" in ours
    assert "CN=MYCO" in ours
    assert "70:<wbr>78:<wbr>5A" in ours
    assert "Its certificate under the alias <code>acme</code>" in theirs
    assert "CN=Acme" in theirs
    assert "0C:<wbr>1D" in theirs
    assert 'id="download-public-key">Download PublicKey</a>' in page
    assert "a keystore of its own lets this one's key be rotated separately" in page.lower()
    assert 'id="create-certificates">Create its certificates</a>' in page
    assert "as2bus keystore create --station MYCO --partner ACME --own-key existing" in page
    assert (download.status_code, download.content) == (200, pem)
    assert download.headers["content-disposition"] == 'attachment; filename="myco.cer"'


async def test_stations_are_created_and_saved_for_the_user(
    app: Any, backends: ConfigBackends
) -> None:
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/stations/new")
        data = {"csrf": csrf_of(form.text), "as2_id": "MYCO", "name": "My Company",
                "private_key_alias": "", "email": ""}  # fmt: skip
        made = await http.post("/stations", data=data)
        assert made.headers["location"] == "/stations?done=AS2+Instance+MYCO+created."
        (ref,) = backends.config.stations
        saved = await http.post(f"/stations/{ref}", data={**data, "email": "as2@myco.example"})
        assert saved.status_code == 303
        missing = await http.get("/stations/not-an-id")
    assert backends.config.changes == [
        ("POST", "/api/v1/stations", ADMIN, {"as2_id": "MYCO", "name": "My Company"}),
        ("PATCH", f"/api/v1/stations/{ref}", ADMIN, {"email": "as2@myco.example"}),
    ]
    assert missing.status_code == 404


async def test_switching_a_partnership_off_from_its_page_asks_first_and_returns_there(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = await http.get(f"/partnerships/{ship['id']}")
        switch = f"/partnerships/{ship['id']}/enabled"
        fields = {"csrf": csrf_of(page.text), "enabled": "off", "back": "detail"}
        question = await http.post(switch, data=fields)
        assert "Switch PartnerShip MYCO → ACME off?" in question.text
        assert f'<a href="/partnerships/{ship["id"]}">Cancel</a>' in question.text
        assert 'name="back" value="detail"' in question.text
        assert backends.config.changes == []
        answer = await http.post(switch, data={**fields, "confirmed": "yes"})
        assert answer.headers["location"].startswith(f"/partnerships/{ship['id']}?done=")
        on = await http.post(switch, data={**fields, "enabled": "on"})  # on: no question
        assert on.status_code == 303
    assert [change[3] for change in backends.config.changes] == [
        {"enabled": False}, {"enabled": True}]  # fmt: skip


def main_of(page: str) -> str:
    """The page without its header (whose sign-out button is a form)."""
    return page.split("<main>", 1)[1].split("</main>", 1)[0]


def fact(page: str, name: str) -> str:
    found = re.search(rf'<dd id="fact-{name}"[^>]*>(.*?)</dd>', page, re.S)
    assert found is not None, f"no fact {name}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


async def test_an_operator_or_viewer_reads_a_partner_s_settings_not_a_disabled_form(
    app: Any, backends: ConfigBackends
) -> None:
    """Those who may not change a partner got the admin's form disabled, 4,400 px tall, marked
    "(required)", with its PartnerShips at the bottom. They read its settings: PartnerShips
    first, then the form's groups under the form's labels, secrets only as set or not."""
    ship = pair(backends)
    partner = backends.config.partners[ship["partner_id"]]
    basic = {"type": "basic", "username": "myco", "password_set": True}
    partner.update(email="as2@acme.example", rate_limit_per_second=5, http_auth=basic)
    for who in (OPERATOR, VIEWER):
        async with client(app) as http:
            await sign_in(http, who)
            answer = await http.get(f"/partners/{partner['id']}")
        assert answer.status_code == 200
        page = main_of(answer.text)
        for control in ("<form", "<input", "<select", "<textarea", "<button", "(required)"):
            assert control not in page, (who, control)
        assert page.index(f'href="/partnerships/{ship["id"]}"') < page.index(
            'id="partner-identity"'
        )
        assert fact(page, "as2_url") == "https://acme.example/as2"
        assert fact(page, "email") == "as2@acme.example"
        assert fact(page, "signing_alg") == "SHA-256"  # the choice, without its advice
        assert fact(page, "encryption_alg") == "AES-256-CBC"
        assert fact(page, "mdn_mode") == "Synchronous"
        assert fact(page, "auth_type") == "User name and password (Basic)"
        assert (fact(page, "auth_username"), fact(page, "auth_password")) == ("myco", "Set")
        assert "fact-token" not in page  # only the chosen authentication's settings
        assert fact(page, "tls_ca_bundle_pem") == "None: the public CAs"
        assert fact(page, "rate_limit_per_second") == "5"
        assert fact(page, "max_attempts") == DEFAULT_ATTEMPTS
        labels = re.findall(r'<dt>([^<]*)</dt><dd id="fact-(\w+)"', page)
        assert len(labels) > 30
        assert all(html.unescape(label) == LABELS[name] for label, name in labels)
        for legend in ("Connection", "Security", "MDN (the partner&#39;s receipt)",
                       "HTTP authentication", "TLS", "Limits"):  # fmt: skip
            assert f'-title">{legend}</h2>' in page


async def test_an_admin_still_gets_the_partner_form_under_the_same_labels(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = main_of((await http.get(f"/partners/{ship['partner_id']}")).text)
    assert 'id="partner-form"' in page
    assert 'id="partner-settings"' not in page
    assert '<label for="f-as2_id">Partner AS2 ID <span class="required">(required)</span>' in page
    for name, label in LABELS.items():
        assert f'<label for="f-{name}">{label}' in html.unescape(page), name


async def test_an_operator_reads_an_as2_instance_s_settings_and_an_admin_gets_the_form(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    async with client(app) as http:
        await sign_in(http, OPERATOR)
        page = main_of((await http.get(f"/stations/{ship['station_id']}")).text)
    for control in ("<form", "<input", "(required)"):
        assert control not in page, control
    assert page.index(f'href="/partnerships/{ship["id"]}"') < page.index('id="station-settings"')
    assert '<dt>My AS2 ID</dt><dd id="fact-as2_id">MYCO</dd>' in page
    assert '<dt>Email</dt><dd id="fact-email">as2@myco.example</dd>' in page
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = main_of((await http.get(f"/stations/{ship['station_id']}")).text)
    assert '<label for="f-as2_id">My AS2 ID <span class="required">(required)</span>' in page
    assert 'id="station-settings"' not in page


async def test_an_invalid_async_mdn_network_is_refused_next_to_its_area_and_kept_as_typed(
    app: Any, backends: ConfigBackends
) -> None:
    backends.config.refuse_next = Change(422, None, {
        "async_mdn_networks.1": "Value error, 10.0.0.0/33 is not a network: write an address "
        "or a network in CIDR notation, e.g. 10.20.0.0/16",
    })  # fmt: skip
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/partners/new")
        assert 'name="async_mdn_networks"' in form.text
        assert "One network a line" in form.text
        answer = await http.post("/partners", data={
            "csrf": csrf_of(form.text), "as2_id": "ONPREM", "name": "On premises",
            "as2_url": "https://as2.onprem.example/as2",
            "async_mdn_networks": "10.20.0.0/16\n10.0.0.0/33",
        })  # fmt: skip
    assert answer.status_code == 422
    ((_, _, _, body),) = backends.config.changes
    assert body["async_mdn_networks"] == ["10.20.0.0/16", "10.0.0.0/33"]
    said = error_of(answer.text, "async_mdn_networks")
    assert said.startswith("10.0.0.0/33 is not a network")
    assert "10.20.0.0/16\n10.0.0.0/33</textarea>" in answer.text


async def test_the_read_only_partner_page_lists_its_async_mdn_networks(
    app: Any, backends: ConfigBackends
) -> None:
    ship = pair(backends)
    partner = backends.config.partners[ship["partner_id"]]
    async with client(app) as http:
        await sign_in(http, OPERATOR)
        before = main_of((await http.get(f"/partners/{partner['id']}")).text)
        partner["async_mdn_networks"] = ["10.20.0.0/16", "fd12::/16"]
        after = main_of((await http.get(f"/partners/{partner['id']}")).text)
    assert fact(before, "async_mdn_networks") == (
        "None: public addresses, and the networks allowed for every partner"
    )
    assert "10.20.0.0/16" in fact(after, "async_mdn_networks")
    assert "fd12::/16" in fact(after, "async_mdn_networks")
