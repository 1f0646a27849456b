"""The console in a real browser (Debian's Chromium driven by Playwright) against the whole
stack as ``as2bus up`` runs it, signed in as the first admin it creates. Screenshots of each
page go to docs/console/, so docs/console.md shows the pages as they are."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import nats
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    FilePayload,
    Page,
    async_playwright,
    expect,
)
from typer.testing import CliRunner

from as2bus.cli.main import app as cli
from as2bus.contracts import (
    Event,
    Failure,
    MessageFailed,
    MessageQueued,
    MessageRetrying,
    OutboundMessage,
)
from as2bus.contracts.outbound import Retry
from as2bus.contracts.outcomes import OUTCOME_SUBJECTS, EventConsumer
from as2bus.contracts.send import send_document
from as2bus.shared.bus.connection import inbox_prefix
from as2bus.testing.infra import free_port
from as2bus.testing.tls import PrivateCa, public_key_sha256

SHOTS = Path(__file__).parents[4] / "docs" / "console"
DOCUMENT = b"ISA*00*          *00*          *ZZ*DEMO-A         *ZZ*DEMO-B~\r\nST*850*0001~\r\n" * 40
NOTES = b"Deliver to dock 4, not before 8:00.\r\n"
HOOK_SECRET = "whsec-browser-test-0123456789"
SMTP_PASSWORD = "smtp-browser-test-9876"


def edi_file(name: str) -> FilePayload:
    """DOCUMENT as a file chosen in Send File's file input."""
    return {"name": name, "mimeType": "application/edi-x12", "buffer": DOCUMENT}


def chromium() -> str:
    found = os.environ.get("AS2BUS_CHROMIUM") or shutil.which("chromium")
    assert found, (
        "Chromium is needed: `make test` installs Debian's chromium (scripts/ensure-chromium.sh)"
    )
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Chromium; any test whose pages break the console's Content-Security-Policy (an inline
    script or style the policy blocks, which the page then lacks) fails when done."""
    refused: list[str] = []
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium())
        _keep_policy_refusals(launched, refused)
        yield launched
        await launched.close()
    assert refused == [], "the Content-Security-Policy blocked part of a page"


def _keep_policy_refusals(browser: Browser, refused: list[str]) -> None:
    """Every page the browser opens reports what the Content-Security-Policy refused into
    ``refused``: Chromium says so in the page's console."""

    def keep(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{message.page.url if message.page else '?'}: {message.text}")

    new_page, new_context = browser.new_page, browser.new_context

    async def watched_page(**options: Any) -> Page:
        page = await new_page(**options)
        page.on("console", keep)
        return page

    async def watched_context(**options: Any) -> BrowserContext:
        context = await new_context(**options)
        context.on("console", keep)
        return context

    browser.new_page = watched_page  # type: ignore[method-assign]
    browser.new_context = watched_context  # type: ignore[method-assign]


class Console:
    def __init__(self, data: Path, base_port: int, nats_port: int) -> None:
        self.config_url = f"http://127.0.0.1:{base_port}"
        self.cert_url = f"http://127.0.0.1:{base_port + 1}"
        self.url = f"http://127.0.0.1:{base_port + 4}"
        self.data = data
        self.token = (data / "secrets" / "tokens" / "admin").read_text().strip()
        self.admin_headers = {"Authorization": f"Bearer {self.token}"}
        self.tracklog_url = f"http://127.0.0.1:{base_port + 3}"
        app_password = (data / "secrets" / "nats" / "app").read_text().strip()
        self.nats_url = f"nats://app:{app_password}@127.0.0.1:{nats_port}"
        email, password = (data / "secrets" / "console-admin").read_text().split()
        self.admin = (email, password)

    def config(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """config-svc's API with the admin token (what an admin's CLI does)."""
        with httpx.Client(base_url=self.config_url,
                          headers={"Authorization": f"Bearer {self.token}"}) as client:  # fmt: skip
            return client.request(method, path, json=body)

    def add_user(self, email: str, role: str) -> str:
        answer = httpx.post(f"{self.url}/api/v1/users", json={"email": email, "role": role},
                            headers={"Authorization": f"Bearer {self.token}"})  # fmt: skip
        assert answer.status_code == 201, answer.text
        return str(answer.json()["password"])

    async def sign_in(self, page: Page, email: str, password: str) -> None:
        await page.goto(f"{self.url}/login")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", password)
        await page.click("button[type=submit]")


@pytest.fixture(scope="module")
def console(running_stack: Any) -> Console:
    """One stack for the module: each test signs in as users of its own."""
    return Console(running_stack.data, running_stack.base_port, running_stack.nats_port)


async def test_sign_in_send_a_file_watch_it_delivered_and_sign_out(
    console: Console, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(f"{console.url}/tracklog")
    assert "/login" in page.url  # every page asks for sign-in first
    await page.screenshot(path=SHOTS / "sign-in.png")

    await console.sign_in(page, console.admin[0], "not the password")
    await expect(page.get_by_role("alert")).to_contain_text("wrong e-mail address or password")

    await console.sign_in(page, *console.admin)
    await expect(page.locator("header .email")).to_have_text(console.admin[0])
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The demo's certificates, one keystore per direction, as `as2bus up` creates them.
    await page.click("header nav >> text=Certificate")
    await expect(page.locator("#keystores tbody tr", has_text="DEMO-A")).to_have_count(2)

    await page.click("text=Send File")
    # Two files: one AS2 message (RFC 6362), the first its document, the second attached.
    notes: FilePayload = {"name": "po-4711-notes.txt", "mimeType": "text/plain", "buffer": NOTES}
    await page.set_input_files("input[name=file]", files=[edi_file("po-4711.x12"), notes])
    chosen = page.locator("ol.chosen-files li")
    await expect(chosen).to_have_text([re.compile(r"^po-4711\.x12 .*main document"),
                                       re.compile(r"^po-4711-notes\.txt ")])  # fmt: skip
    await page.fill("input[name=subject]", "PO 4711")
    await page.screenshot(path=SHOTS / "send-file.png")
    await page.click("#send-file button[type=submit]")
    await page.wait_for_url("**/tracklog/*", timeout=30_000)
    for _ in range(40):  # the page is server-rendered: reload until the MDN is in
        if "delivered" in await page.inner_text("h1"):
            break
        await page.wait_for_timeout(250)
        await page.reload()
    await expect(page.locator("h1 .status")).to_have_text("delivered")
    await expect(page.locator("dl.facts").first).to_contain_text("signature valid, MIC matches")
    await expect(page.locator("table.attempts tbody tr")).to_contain_text("200")
    record = page.locator("ul.certs")
    await expect(record).to_contain_text("Signed with: demo-a@demo-b (own")  # its keystore's key
    await expect(record).to_contain_text("Encrypted for: demo-b (partner")
    await page.click("text=HTTP headers")
    await expect(page.locator("pre.headers")).to_contain_text("AS2-To: DEMO-B")
    await page.screenshot(path=SHOTS / "message.png", full_page=True)
    async with page.expect_download() as document:
        await page.click("text=The document")
    assert Path(await (await document.value).path()).read_bytes() == DOCUMENT
    await expect(page.locator("dd.documents")).to_contain_text("2 in one message")
    attached = page.locator("ul.downloads li.attachment")
    await expect(attached).to_have_count(1)
    await expect(attached).to_contain_text("po-4711-notes.txt, text/plain")
    async with page.expect_download() as second:
        await attached.locator("a", has_text="Document 2").click()
    assert Path(await (await second.value).path()).read_bytes() == NOTES
    async with page.expect_download() as receipt:
        await page.click("text=The MDN as received")
    await _signature_verifies(Path(await (await receipt.value).path()))
    # Every milestone reached; the MDN as checked: which certificate verified it, both MICs.
    await expect(page.locator("ol.milestones li.done")).to_have_count(4)
    mdn = page.locator("section.mdn")
    await expect(mdn.locator("dd.mdn-signature")).to_contain_text(
        "Signature verified with: demo-b (partner"
    )
    expected = await mdn.locator("code.mic-expected").inner_text()
    assert len(expected) > 20  # a base64 digest
    await expect(mdn.locator("code.mic-received")).to_have_text(expected)
    await expect(mdn.locator("td.mic-result")).to_have_text("matches")
    await page.click("text=MDN HTTP headers")
    # As the HTTP client received them (header names are case-insensitive; h11 lowercases).
    await expect(mdn.locator("pre.mdn-headers")).to_contain_text(
        re.compile("as2-from: DEMO-B", re.IGNORECASE)
    )
    async with page.expect_download() as as_sent:
        await page.click("text=The message as sent")
    sent = Path(await (await as_sent.value).path()).read_bytes()
    await _is_enveloped_data(sent)

    # The same message where DEMO-B received it: the signature verified with DEMO-A's
    # certificate, and the message as received is byte for byte the one sent.
    await page.goto(f"{console.url}/tracklog?direction=inbound&q=po-4711.x12")
    await page.click("table.messages a:text('po-4711.x12')")
    await expect(page.locator("ul.certs")).to_contain_text(
        "Signature verified with: demo-a (partner"
    )
    await expect(page.locator("ul.downloads li.attachment")).to_contain_text("po-4711-notes.txt")
    await page.screenshot(path=SHOTS / "message-inbound.png", full_page=True)
    async with page.expect_download() as as_received:
        await page.click("text=The message as received")
    received = Path(await (await as_received.value).path()).read_bytes()
    assert received.partition(b"\r\n\r\n")[2] == sent.partition(b"\r\n\r\n")[2]

    await page.click("text=TrackLog")
    await expect(page.locator("table.messages")).to_contain_text("po-4711.x12")
    await page.screenshot(path=SHOTS / "tracklog.png", full_page=True)
    await page.click("text=Dashboard")
    await expect(page.locator(".tile").first).to_contain_text("messages")
    await page.screenshot(path=SHOTS / "dashboard.png", full_page=True)
    # The dashboard follows the messages without a reload.
    before = await page.locator(".tile .figure").first.inner_text()
    await page.evaluate("window.notReloaded = true")
    other = await browser.new_page()
    await console.sign_in(other, *console.admin)
    await _send_file(other, console, "po-dashboard.x12")
    await expect(page.locator(".tile .figure").first).not_to_have_text(before, timeout=20_000)
    assert await page.evaluate("window.notReloaded") is True

    await page.click("text=Sign out")
    await page.wait_for_url("**/login?signed_out=1")
    await expect(page.locator("p.done")).to_have_text("You are signed out.")
    await page.goto(f"{console.url}/")
    assert "/login" in page.url  # the session is gone on the server, not only in the browser


async def _signature_verifies(mdn: Path) -> None:
    """The downloaded MDN is the partner's signed receipt as it came: openssl verifies its
    signature (-noverify: the demo certificates are self-signed, the chain is not the point)."""
    done = await asyncio.create_subprocess_exec(
        "openssl", "smime", "-verify", "-noverify", "-in", str(mdn), "-out", os.devnull,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await done.communicate()
    assert done.returncode == 0, output.decode()
    assert b"Verification successful" in output


async def _is_enveloped_data(message: bytes) -> None:
    """The message as sent is the AS2 request: its headers, then the body openssl reads as the
    CMS EnvelopedData it is (encrypted for the partner)."""
    head, _, body = message.partition(b"\r\n\r\n")
    assert b"Content-Type: application/pkcs7-mime" in head
    assert b"AS2-To: DEMO-B" in head
    done = await asyncio.create_subprocess_exec(
        "openssl", "cms", "-cmsout", "-print", "-inform", "DER",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await done.communicate(body)
    assert done.returncode == 0, output.decode(errors="replace")
    assert b"contentType: pkcs7-envelopedData" in output


async def test_roles_and_csrf_are_enforced_on_the_server(
    console: Console, browser: Browser
) -> None:
    password = console.add_user("viewer@example.com", "viewer")
    page = await browser.new_page()
    await console.sign_in(page, "viewer@example.com", password)
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert await page.locator("header nav >> text=Send File").count() == 0  # not offered

    answer = await page.goto(f"{console.url}/send")
    assert answer is not None
    assert answer.status == 403
    # A direct POST with the viewer's own session and a valid CSRF token: still refused.
    await page.goto(f"{console.url}/tracklog")
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    posted = await page.request.post(f"{console.url}/send", multipart={
        "csrf": csrf or "", "partnership": "x",
        "file": {"name": "a.txt", "mimeType": "text/plain", "buffer": b"x"}})  # fmt: skip
    assert posted.status == 403
    # The configuration and certificate pages: read, never changed.
    for path, button in (
        ("/stations", "#new-station"),
        ("/partners", "#new-partner"),
        ("/partnerships", "#new-partnership"),
        ("/certificates", "#create-cert"),
    ):
        shown = await page.goto(f"{console.url}{path}")
        assert shown is not None
        assert shown.status == 200, path
        assert await page.locator(button).count() == 0, path
    for path in ("/stations", "/partners", "/partnerships", "/certificates/new", "/users"):
        refused = await page.request.post(f"{console.url}{path}", form={
            "csrf": csrf or "", "as2_id": "VIEWER-MADE", "name": "x", "email": "x@example.com",
            "role": "admin"})  # fmt: skip
        assert refused.status == 403, path
    stations = console.config("GET", "/api/v1/stations").json()
    assert "VIEWER-MADE" not in {s["as2_id"] for s in stations}

    # An operator may send, but not with a forged or missing CSRF token.
    operator = console.add_user("operator@example.com", "operator")
    other = await browser.new_page()
    await console.sign_in(other, "operator@example.com", operator)
    await expect(other.locator("header nav >> text=Send File")).to_be_visible()
    forged = await other.request.post(f"{console.url}/send", multipart={
        "csrf": "forged", "partnership": "x",
        "file": {"name": "a.txt", "mimeType": "text/plain", "buffer": b"x"}})  # fmt: skip
    assert forged.status == 403
    assert "security token" in await forged.text()
    signed_out = await other.request.post(f"{console.url}/logout", form={"csrf": "forged"})
    assert signed_out.status == 403  # even sign-out needs the form's token


async def test_the_main_pages_keep_to_their_content_security_policy(
    console: Console, browser: Browser
) -> None:
    """Each page forbids framing and caching and allows only the console's own script and
    stylesheet; nothing on them is refused: the upload's progress, the message page that
    follows its message, the TrackLog's live updates and the local times all still work."""
    refused: list[str] = []
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None)
    await console.sign_in(page, *console.admin)  # the one admin: others test "the last admin"
    await _send_file(page, console, "po-policy.x12")
    await expect(page.locator("h1 .status")).to_have_text("delivered", timeout=30_000)
    for path in ("/", "/tracklog", "/send", "/stations", "/partners", "/partnerships",
                 "/certificates", "/health", "/notifications", "/users", "/audit"):  # fmt: skip
        answer = await page.goto(f"{console.url}{path}")
        assert answer is not None
        assert answer.status == 200, path
        headers = await answer.all_headers()
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "unsafe-inline" not in headers["content-security-policy"], path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["cache-control"] == "no-store", path
        if path == "/tracklog":
            await expect(page.locator("p.live")).to_be_visible()  # its live stream is open
    await page.goto(f"{console.url}/certificates")
    await page.locator("#keystores tbody tr a").first.click()
    await page.wait_for_url("**/certificates/*")
    assert refused == []


async def test_repeated_wrong_passwords_are_throttled(console: Console, browser: Browser) -> None:
    password = console.add_user("guessed@example.com", "viewer")
    page = await browser.new_page()
    for _ in range(5):
        await console.sign_in(page, "guessed@example.com", "wrong password")
    await console.sign_in(page, "guessed@example.com", password)  # right, but too late
    await expect(page.get_by_role("alert")).to_contain_text("too many failed sign-ins")


async def test_a_user_made_with_the_cli_signs_in(console: Console, browser: Browser) -> None:
    env = {"AS2BUS_DATA_DIR": str(console.data), "AS2BUS_CONSOLE_URL": console.url,
           "AS2BUS_API_TOKEN": None}  # the admin token is read from the data dir  # fmt: skip
    argv = ["user", "create", "ops@example.com", "--role", "operator"]
    made = CliRunner().invoke(cli, argv, env=env)
    assert made.exit_code == 0, made.output
    assert made.output.startswith("created ops@example.com (operator)")
    password = made.output.split("password (shown this once): ")[1].strip()
    again = CliRunner().invoke(cli, argv, env=env)
    assert again.exit_code == 1
    assert "there is already a user ops@example.com" in again.output

    page = await browser.new_page()
    await console.sign_in(page, "ops@example.com", password)
    await expect(page.locator("header .email")).to_have_text("ops@example.com")
    await expect(page.locator("header nav >> text=Send File")).to_be_visible()

    def run(*args: str) -> str:
        done = CliRunner().invoke(cli, list(args), env=env)
        assert done.exit_code == 0, done.output
        return done.output

    assert re.search(r"ops@example\.com\s+operator\s+enabled\s+password", run("user", "list"))
    run("user", "set-role", "ops@example.com", "viewer")
    await page.reload()  # the role is read on every request
    await expect(page.locator("header nav >> text=Send File")).to_have_count(0)
    run("user", "disable", "ops@example.com")
    await page.reload()
    assert "/login" in page.url  # disabled: the session ended at once
    run("user", "enable", "ops@example.com")
    reset = run("user", "reset-password", "ops@example.com")
    new_password = reset.split("password (shown this once): ")[1].strip()
    await console.sign_in(page, "ops@example.com", password)
    await expect(page.get_by_role("alert")).to_contain_text("wrong e-mail address or password")
    await console.sign_in(page, "ops@example.com", new_password)
    await expect(page.locator("header .email")).to_have_text("ops@example.com")
    last_admin = CliRunner().invoke(cli, ["user", "disable", console.admin[0]], env=env)
    assert last_admin.exit_code == 1
    assert "the last enabled admin" in last_admin.output


async def test_the_tracklog_updates_live_without_a_reload(
    console: Console, browser: Browser
) -> None:
    password = console.add_user("watcher@example.com", "operator")
    watching, sending = await browser.new_page(), await browser.new_page()
    for page in (watching, sending):
        await console.sign_in(page, "watcher@example.com", password)
    await watching.goto(f"{console.url}/tracklog")
    await expect(watching.locator("p.live")).to_be_visible()  # the live stream is open
    await watching.evaluate("window.notReloaded = true")  # gone if the page reloads

    await sending.goto(f"{console.url}/send")
    await sending.set_input_files("input[name=file]", files=[edi_file("live-1.x12")])
    await sending.click("#send-file button[type=submit]")

    row = watching.locator("table.messages tbody tr", has_text="live-1.x12")
    await expect(row.first).to_be_visible(timeout=20_000)
    await expect(row.filter(has_text="delivered").first).to_be_visible(timeout=20_000)
    assert await watching.evaluate("window.notReloaded") is True


async def test_an_empty_tracklog_stays_explained_until_a_match_arrives_with_its_header(
    console: Console, browser: Browser
) -> None:
    """On a filtered list with no match, any status change hid "No messages match these
    filters." and left a blank page; a match that arrived later showed as rows without the
    table's header."""
    password = console.add_user("emptywatch@example.com", "operator")
    watching, sending = await browser.new_page(), await browser.new_page()
    for page in (watching, sending):
        await console.sign_in(page, "emptywatch@example.com", password)
    await watching.goto(f"{console.url}/tracklog?q=emptylist-match")
    empty = watching.locator("p.empty")
    await expect(empty).to_contain_text("No messages match these filters: a search matches")
    await expect(watching.locator("p.live")).to_be_visible()  # the live stream is open
    # Each swap of the live listing is one refresh after status changes.
    await watching.evaluate("""() => { window.swapped = 0; window.notReloaded = true;
        new MutationObserver(() => window.swapped++).observe(
            document.querySelector("[data-live]"), { childList: true }); }""")

    await _send_file(sending, console, "emptylist-other.x12")  # changes, none matching
    await watching.wait_for_function("() => window.swapped > 0", timeout=20_000)
    await expect(empty).to_be_visible()
    await expect(empty).to_contain_text("No messages match these filters: a search matches")
    assert await watching.locator("table.messages tbody tr").count() == 0

    await _send_file(sending, console, "emptylist-match.x12")
    row = watching.locator("table.messages tbody tr", has_text="emptylist-match.x12")
    await expect(row.first).to_be_visible(timeout=20_000)
    await expect(watching.locator("table.messages thead th").first).to_contain_text("Created")
    await expect(watching.locator("p.empty")).to_have_count(0)
    assert await watching.evaluate("window.notReloaded") is True


#: Whether an input's placeholder fits inside it, as laid out.
_PLACEHOLDER_FITS = """e => {
    const style = getComputedStyle(e), ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${style.fontSize} ${style.fontFamily}`;
    const inside = e.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return ctx.measureText(e.placeholder).width <= inside;
}"""


async def test_tracklog_filters_send_what_is_filled_in_the_browsers_own_zone(
    console: Console, browser: Browser
) -> None:
    """The Filter address carried every empty field; a link's UTC time (the dashboard's 24
    hours) showed in From as UTC, and Filter then read it in the browser's zone, hours off;
    the Search hint was cut off ("Message-ID, request id o")."""
    password = console.add_user("filterer@example.com", "viewer")
    page = await browser.new_page(viewport={"width": 1280, "height": 800},
                                  timezone_id="America/New_York")  # fmt: skip
    await console.sign_in(page, "filterer@example.com", password)
    await page.goto(f"{console.url}/tracklog?partner=FILTER-P&since=2026-12-04T15:30:00Z")
    # 15:30 UTC in New York, at that date's offset; the form sends it with that offset.
    local = datetime(2026, 12, 4, 15, 30, tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))
    await expect(page.locator("input[name=since]")).to_have_value(f"{local:%Y-%m-%dT%H:%M}")
    async with page.expect_navigation():
        await page.click("form.filters button[type=submit]")
    filled = {"partner": "FILTER-P", "since": local.isoformat()}
    assert page.url == f"{console.url}/tracklog?{urlencode(filled)}"  # no empty field
    await page.select_option("select[name=status]", label="mdn sent")
    await page.fill("input[name=since]", "")
    async with page.expect_navigation():
        await page.click("form.filters button[type=submit]")
    assert page.url == f"{console.url}/tracklog?partner=FILTER-P&status=mdn-sent"
    # A group of statuses goes as one value and stays chosen; none match, and the list says
    # that once (no "0 messages match" above it).
    await page.select_option("select[name=status]", label="failed or refused")
    async with page.expect_navigation():
        await page.click("form.filters button[type=submit]")
    assert page.url == f"{console.url}/tracklog?partner=FILTER-P&status=failed%2Crejected"
    await expect(page.locator("select[name=status]")).to_have_value("failed,rejected")
    await expect(page.locator("p.empty")).to_contain_text("No messages match these filters")
    await expect(page.locator("p.matches")).to_have_count(0)
    await page.goto(f"{console.url}/tracklog")
    async with page.expect_navigation():
        await page.click("form.filters button[type=submit]")
    assert page.url == f"{console.url}/tracklog"
    for width in (1280, 390):
        await page.set_viewport_size({"width": width, "height": 800})
        assert await page.locator("input[name=q]").evaluate(_PLACEHOLDER_FITS), width


#: The text of every element among ``els`` that the browser laid out on more than one line.
_WRAPPED = """els => els.filter(e => {
    const range = document.createRange();
    range.selectNodeContents(e);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
}).map(e => e.textContent.trim())"""

#: The lines an element's text was laid out on, as the strings shown on each.
_LINES = """e => {
    const lines = new Map(), range = document.createRange();
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            range.setStart(node, i); range.setEnd(node, i + 1);
            const box = range.getBoundingClientRect();
            if (box.width === 0) continue;  // white space at a line's end
            const top = Math.round(box.top);
            lines.set(top, (lines.get(top) || '') + node.data[i]);
        }
    }
    return [...lines.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s.trim());
}"""


async def test_a_long_file_name_breaks_but_column_titles_and_statuses_stay_whole(
    console: Console, browser: Browser
) -> None:
    """A file name with no break opportunity squeezed every column: the list read "Statio n"
    and "delivere d" (seen in docs/console/tracklog.png), and on a phone "12/5/202 6". The name
    breaks anywhere; titles, statuses and times only between words."""
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await console.sign_in(page, *console.admin)
    long_name = "ORDERS-" + "0123456789ABCDEF" * 6 + ".x12"
    await _send_file(page, console, long_name)
    await page.goto(f"{console.url}/tracklog?q={long_name}")
    row = page.locator("table.messages tbody tr", has_text=long_name[:40])
    await expect(row.first).to_be_visible()
    assert await page.locator("table.messages th").evaluate_all(_WRAPPED) == []
    assert await page.locator("table.messages .status").evaluate_all(_WRAPPED) == []
    assert await row.first.locator("td a").first.evaluate_all(_WRAPPED) != []  # it did break
    # At phone width a time wraps between its words, never inside "12/5/2026,".
    await page.set_viewport_size({"width": 390, "height": 844})
    times = await page.locator("table.messages time").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width).filter(w => w > 0)"
    )  # the last change's column is hidden at this width
    widest_word = await page.locator("table.messages time").first.evaluate(
        """e => { const s = document.createElement('span'); s.style.whiteSpace = 'nowrap';
                  s.textContent = e.textContent.split(' ')[0];
                  e.parentElement.appendChild(s); const w = s.getBoundingClientRect().width;
                  s.remove(); return w; }"""
    )
    assert times
    assert min(times) >= widest_word - 0.5


async def _send_file(page: Page, console: Console, name: str) -> None:
    """Send File in the browser; returns on the new message's page."""
    await page.goto(f"{console.url}/send")
    await page.set_input_files("input[name=file]", files=[edi_file(name)])
    await page.click("#send-file button[type=submit]")
    await page.wait_for_url("**/tracklog/*", timeout=30_000)


async def _until_status(page: Page, wanted: str, tries: int = 60) -> None:
    for _ in range(tries):  # server-rendered: reload until the status is there
        if wanted in await page.inner_text("h1"):
            return
        await page.wait_for_timeout(250)
        await page.reload()
    await expect(page.locator("h1 .status")).to_have_text(wanted)


async def test_a_failed_message_says_why_and_is_resent_as_a_linked_new_message(
    console: Console, browser: Browser, running_stack: Any
) -> None:
    partners = console.config("GET", "/api/v1/partners").json()
    (demo_b,) = [p for p in partners if p["as2_id"] == "DEMO-B"]
    down = {"as2_url": "http://127.0.0.1:9/as2", "max_attempts": 1}  # nothing listens on 9
    assert console.config("PATCH", f"/api/v1/partners/{demo_b['id']}", down).status_code == 200
    await asyncio.sleep(2)  # outbound-svc follows the configuration through the bus
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    password = console.add_user("resender@example.com", "operator")
    await console.sign_in(page, "resender@example.com", password)
    await _send_file(page, console, "po-fails.x12")
    await _until_status(page, "failed")
    cause = page.locator("section.cause")
    await expect(cause).to_contain_text("Every attempt to reach the partner failed")
    await expect(cause).to_contain_text("What to do:")
    await page.screenshot(path=SHOTS / "message-failed.png", full_page=True)
    failed_url = page.url

    back = {"as2_url": demo_b["as2_url"], "max_attempts": 6}
    assert console.config("PATCH", f"/api/v1/partners/{demo_b['id']}", back).status_code == 200
    await asyncio.sleep(2)
    await page.click("text=Resend…")
    await expect(page.get_by_role("heading", name="Resend?")).to_be_visible()
    await page.click("text=Resend it")
    await page.wait_for_url("**/tracklog/*", timeout=30_000)
    assert page.url != failed_url
    await _until_status(page, "delivered")
    await expect(page.locator("p.link")).to_contain_text("A resend of po-fails.x12")

    await page.goto(failed_url)
    await expect(page.locator("p.resends")).to_contain_text("Resent once:")
    await expect(page.locator("p.resends .status")).to_have_text("delivered")
    # Resending again is asked with the resend named, and needs "Send another copy anyway".
    await page.click("text=Resend again…")
    await expect(page.locator("p.already-resent")).to_contain_text(
        "which was delivered: sending it again gives the partner another copy"
    )
    await expect(page.get_by_label("Send another copy anyway")).to_have_attribute("required", "")


class SlowPartner:
    """A partner URL on 127.0.0.1 that holds each AS2 request until ``release`` is set, then
    passes it on to the partner's real URL and its answer (the synchronous MDN) back: a
    partner that answers slowly. ``held`` is set once a request is being held."""

    def __init__(self, target: str) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        held, release = self.held, self.release
        hop_by_hop = {"host", "content-length", "connection", "transfer-encoding",
                      "content-encoding", "keep-alive"}  # fmt: skip

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                held.set()
                release.wait(timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in hop_by_hop}
                answer = httpx.post(target, content=body, headers=headers, timeout=60)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in hop_by_hop:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/as2"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


async def test_a_message_page_follows_the_message_until_delivered_without_a_reload(
    console: Console, browser: Browser
) -> None:
    """After Send File the page said "sending" for good (12 s and more), though the message
    was delivered within 200 ms: only a reload showed it."""
    partners = console.config("GET", "/api/v1/partners").json()
    (demo_b,) = [p for p in partners if p["as2_id"] == "DEMO-B"]
    slow = SlowPartner(demo_b["as2_url"])
    path = f"/api/v1/partners/{demo_b['id']}"
    assert console.config("PATCH", path, {"as2_url": slow.url}).status_code == 200
    try:
        await asyncio.sleep(2)  # outbound-svc follows the configuration through the bus
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        password = console.add_user("follower@example.com", "operator")
        await console.sign_in(page, "follower@example.com", password)
        await _send_file(page, console, "po-followed.x12")
        await page.evaluate("window.notReloaded = true")  # gone if the page reloads
        assert await asyncio.to_thread(slow.held.wait, 30)  # the partner has it, unanswered
        await expect(page.locator("p.live")).to_be_visible()
        await expect(page.locator("h1 .status")).to_have_text("sending")
        await expect(page.locator("ul.downloads li.as-exchanged")).to_have_text(
            "The message as sent: being sent (stored once the partner takes it)"
        )
        slow.release.set()  # the partner answers, with its MDN
        await expect(page.locator("h1 .status")).to_have_text("delivered", timeout=20_000)
        await expect(page.locator("ol.milestones li.done")).to_have_count(4)
        await expect(page.locator("table.attempts tbody tr")).to_contain_text("200")
        await expect(page.locator("ul.downloads li.as-exchanged a")).to_have_text(
            "The message as sent"
        )
        await expect(page.locator("ul.downloads li.mdn-download a")).to_have_text(
            "The MDN as received"
        )
        await expect(page.locator("#message[data-follow]")).to_have_count(0)  # settled: done
        assert await page.evaluate("window.notReloaded") is True
    finally:
        assert console.config("PATCH", path, {"as2_url": demo_b["as2_url"]}).status_code == 200
        slow.close()
        await asyncio.sleep(2)


@pytest.mark.timeout(300)
async def test_a_200_mb_file_goes_from_the_browser_to_delivered(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    """Uploaded with a progress bar, spooled to disk by the console, streamed to the object
    store and on to the partner: never whole in any process's memory."""
    big = tmp_path / "big-200mb.x12"
    line = b"LIN*1*VP*4711*UP*012345678905~\r\n"
    with big.open("wb") as out:
        for _ in range(200_000_000 // len(line)):  # 200 MB
            out.write(line)
    size = big.stat().st_size
    password = console.add_user("bulk@example.com", "operator")
    page = await browser.new_page()
    await console.sign_in(page, "bulk@example.com", password)
    await page.goto(f"{console.url}/send")
    await page.set_input_files("input[name=file]", str(big))
    await page.click("#send-file button[type=submit]")
    await page.wait_for_url("**/tracklog/*", timeout=120_000)
    await _until_status(page, "delivered", tries=400)
    await expect(page.locator("dl.facts").first).to_contain_text(f"{size} bytes")
    await expect(page.locator("dl.facts").first).to_contain_text("MIC matches")


async def test_partner_health_and_the_connection_test(
    console: Console, browser: Browser, running_stack: Any
) -> None:
    down = {"as2_id": "DOWN", "name": "Unreachable", "as2_url": "http://127.0.0.1:9/as2"}
    assert console.config("POST", "/api/v1/partners", down).status_code == 201
    await asyncio.sleep(2)  # outbound-svc follows the configuration through the bus
    password = console.add_user("health@example.com", "operator")
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await console.sign_in(page, "health@example.com", password)
    await _send_file(page, console, "po-health.x12")
    await _until_status(page, "delivered")
    await page.click("text=Partner health")
    row = page.locator("table.health tr", has_text="DEMO-B")
    await expect(row).to_contain_text("% of")  # exchanges in the last 24 hours
    await expect(row.locator("td.limits")).to_contain_text("0 of 25 sending; no rate limit")

    await row.get_by_role("button", name="Test the connection").click()
    result = page.locator("section.test-result")
    await expect(result).to_contain_text("Connection test: DEMO-B")
    for step in ("DNS", "TCP", "HTTP", "Partner certificate"):
        await expect(result.locator("li.ok", has_text=step)).to_have_count(1)
    await page.screenshot(path=SHOTS / "partner-health.png", full_page=True)

    await (
        page.locator("table.health tr", has_text="DOWN")
        .get_by_role("button", name="Test the connection")
        .click()
    )
    await expect(result).to_contain_text("Connection test: DOWN")
    await expect(result.locator("li.ok", has_text="DNS")).to_have_count(1)
    await expect(result.locator("li.bad", has_text="TCP")).to_contain_text("FAILED")
    await expect(result.locator("li.skipped", has_text="HTTP")).to_contain_text("not run")
    await expect(result.locator("li.bad", has_text="Partner certificate")).to_have_count(1)


async def test_a_partners_tls_settings_are_set_in_the_browser(
    console: Console, browser: Browser
) -> None:
    """The TLS section of a partner's form: a private CA, a pin (refused until it is one), no
    verification (its warning shows as the box is ticked), a proxy, TLS 1.3, mutual TLS on
    receipt; saved into config-svc, and shown again with each certificate's subject and expiry."""
    ca = PrivateCa("TLSCO private CA")
    _, client_cert = ca.issue_client("tlsco-client")
    partner = {"as2_id": "TLSCO", "name": "TLS Co", "as2_url": "https://127.0.0.1:9/as2"}
    made = console.config("POST", "/api/v1/partners", partner)
    assert made.status_code == 201, made.text
    password = console.add_user("tls@example.com", "admin")
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await console.sign_in(page, "tls@example.com", password)
    await page.goto(f"{console.url}/partners/{made.json()['id']}")
    warning = page.locator("#f-tls_skip_verify-warning")
    await expect(warning).to_be_hidden()
    await page.fill("#f-tls_ca_bundle_pem", ca.cert_pem.decode())
    await page.fill("#f-tls_pinned_sha256", "not a pin")
    await page.check("#f-tls_skip_verify")
    await expect(warning).to_be_visible()
    await page.select_option("#f-tls_min_version", "1.3")
    await page.fill("#f-tls_proxy_url", "http://proxy.example:3128")
    await page.select_option("#f-tls_require_client_certificate", "on")
    await page.fill("#f-tls_client_certificates_pem", client_cert.decode())
    await page.click("#partner-form button[type=submit]")
    await expect(page.locator("#f-tls_pinned_sha256-error")).to_contain_text(
        "pin 1: must be a SHA-256 in hex"
    )
    await expect(page.locator("#f-tls_proxy_url")).to_have_value("http://proxy.example:3128")
    pin = public_key_sha256(ca.cert_pem)
    await page.fill("#f-tls_pinned_sha256", ":".join(re.findall("..", pin.upper())))
    await page.click("#partner-form button[type=submit]")
    await expect(page.locator("#done")).to_have_text("Partner TLSCO saved.")

    await page.goto(f"{console.url}/partners/{made.json()['id']}")
    await expect(page.locator("#f-tls_pinned_sha256")).to_have_value(pin)  # as stored
    until = f"{ca.cert.not_valid_after_utc:%Y-%m-%d}"
    await expect(page.locator("#f-tls_ca_bundle_pem-stored li")).to_have_text(
        [f"CN=TLSCO private CA, until {until}"]
    )
    await expect(page.locator("#f-tls_client_certificates_pem-stored li")).to_have_text(
        [re.compile(r"^CN=tlsco-client, until \d{4}-\d\d-\d\d$")]
    )
    await expect(page.locator("#f-tls_skip_verify")).to_be_checked()
    await expect(warning).to_be_visible()
    await page.locator("#partner-tls").screenshot(path=SHOTS / "partner-tls.png")

    tls = console.config("GET", f"/api/v1/partners/{made.json()['id']}").json()["tls"]
    assert tls == {
        "ca_bundle_pem": ca.cert_pem.decode(), "pinned_sha256": [pin],
        "client_certificate": False, "min_version": "1.3", "verify": False,
        "proxy_url": "http://proxy.example:3128", "follow_redirects": False,
        "require_client_certificate": True, "client_certificates_pem": client_cert.decode(),
    }  # fmt: skip


async def _publish_many(running_stack: Any, count: int) -> None:
    """``count`` outbound messages straight onto the events stream (as the admin NATS user),
    one a second apart, to three partners; every tenth failed."""
    password = (running_stack.data / "secrets" / "nats" / "admin").read_text().strip()
    nc = await nats.connect(f"nats://admin:{password}@127.0.0.1:{running_stack.nats_port}")
    js, start = nc.jetstream(), datetime(2026, 1, 1, tzinfo=UTC)
    events: list[Event] = []
    for i in range(count):
        mid, at = f"<bulk-{i}@test>", start + timedelta(seconds=i)
        queued = OutboundMessage(request_id=f"bulk-{i}", message_id=mid, station="DEMO-A",
                                 partner=f"BULK-{i % 3}", filename=f"bulk-{i:04d}.x12",
                                 content_type="application/edi-x12", size=100)  # fmt: skip
        events.append(MessageQueued(correlation_id=mid, occurred_at=at, data=queued))
        if i % 10 == 0:
            failure = Failure(request_id=f"bulk-{i}", message_id=mid, station="DEMO-A",
                              partner=f"BULK-{i % 3}", attempts=1, reason="HTTP 403",
                              code="partner-refused")  # fmt: skip
            events.append(MessageFailed(correlation_id=mid, occurred_at=at, data=failure))
    for batch in range(0, len(events), 200):
        await asyncio.gather(*(
            js.publish(e.subject, e.to_bytes(), headers={"Nats-Msg-Id": str(e.event_id)})
            for e in events[batch : batch + 200]
        ))  # fmt: skip
    await nc.close()


async def _rows(page: Page) -> list[str]:
    return [
        t.strip()
        for t in await page.locator("table.messages tbody td:nth-child(5)").all_inner_texts()
    ]


async def test_filters_search_and_pages_over_thousands_of_messages(
    console: Console, browser: Browser, running_stack: Any
) -> None:
    await _publish_many(running_stack, 3000)
    tracklog = httpx.AsyncClient(base_url=f"http://127.0.0.1:{running_stack.base_port + 3}",
                                 headers={"Authorization": f"Bearer {console.token}"})  # fmt: skip
    for _ in range(150):  # the projection applies them in order: the last one means all
        found = await tracklog.get("/api/v1/messages", params={"q": "bulk-2999"})
        if found.json()["items"]:
            break
        await asyncio.sleep(0.2)
    password = console.add_user("pager@example.com", "viewer")
    page = await browser.new_page()
    await console.sign_in(page, "pager@example.com", password)

    await page.goto(f"{console.url}/tracklog?partner=BULK-1")
    seen: list[str] = []
    for _ in range(4):  # four pages of 50, newest first, none repeated
        rows = await _rows(page)
        assert len(rows) == 50
        seen += rows
        await page.click("text=Older messages")
    assert seen[0] == "bulk-2998.x12"
    assert len(set(seen)) == 200
    assert seen == sorted(seen, reverse=True)

    await page.goto(f"{console.url}/tracklog?partner=BULK-1&status=failed")
    first = await _rows(page)
    await page.click("text=Older messages")
    second = await _rows(page)
    assert len(first) + len(second) == 100  # i = 10 (mod 30): a hundred of them
    assert await page.locator("text=Older messages").count() == 0

    await page.goto(f"{console.url}/tracklog")
    await page.fill("input[name=q]", "bulk-1234")
    await page.click("form.filters button[type=submit]")
    assert await _rows(page) == ["bulk-1234.x12"]
    await page.goto(f"{console.url}/tracklog?partner=BULK-0")
    assert (await _rows(page))[0] == "bulk-2997.x12"
    await page.click("th >> text=Created")  # the header sorts: oldest first now
    assert (await _rows(page))[0] == "bulk-0000.x12"
    await tracklog.aclose()


async def test_users_are_managed_in_the_browser_and_every_change_is_in_the_audit_trail(
    console: Console, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await console.sign_in(page, *console.admin)
    await page.click("header nav >> text=Users")
    await page.fill("#new-user input[name=email]", "auditor@example.com")
    await page.select_option("#new-user select[name=role]", "operator")
    await page.click("#new-user button[type=submit]")
    password = await page.locator("code.password").inner_text()
    assert len(password) >= 12
    row = page.locator("table.users tr", has_text="auditor@example.com")
    await row.locator("select[name=role]").select_option("viewer")
    await row.locator("text=Set role").click()
    await expect(page.locator("p.done")).to_contain_text("auditor@example.com is now viewer.")
    await expect(page.locator("table.users tr", has_text="auditor@example.com")).to_contain_text(
        "viewer"
    )
    await page.screenshot(path=SHOTS / "users.png", full_page=True)
    # The list read "operato r" and "guessed@example.co m": words stay whole, an address breaks
    # after its "@" at most, even on a phone.
    words = "table.users :is(td.email, td:nth-child(2), .status, td:nth-child(4))"
    assert await page.locator(words).evaluate_all(_WRAPPED) == []
    await page.set_viewport_size({"width": 390, "height": 844})
    for lines in await page.locator("table.users td.email").evaluate_all(
        f"els => els.map({_LINES})"
    ):
        address = "".join(lines)
        assert lines in ([address], [address.split("@")[0] + "@", address.split("@")[1]])
    assert await page.locator("table.users td:nth-child(2)").evaluate_all(_WRAPPED) == []
    await page.set_viewport_size({"width": 1280, "height": 800})

    # A change made with the API token directly (what the CLI does) is audited too: projected
    # from config-svc's event, naming the token by its digest's start, never the token.
    made = console.config("POST", "/api/v1/stations", {"as2_id": "AUDITED", "name": "Audited"})
    assert made.status_code == 201, made.text
    token_id = hashlib.sha256(console.token.encode()).hexdigest()[:8]
    await page.click("header nav >> text=Audit")
    audit = page.locator("table.audit")
    for _ in range(40):  # the projection follows the bus: reload until the event is in
        if "AUDITED" in await audit.inner_text():
            break
        await page.wait_for_timeout(250)
        await page.reload()
    station = page.locator("table.audit tr", has_text="AUDITED")
    await expect(station).to_contain_text(f"API token {token_id} (admin)")
    await expect(station).to_contain_text("station AUDITED created")
    await expect(station).to_contain_text("Name: Audited")
    user_rows = page.locator("table.audit tr", has_text="auditor@example.com")
    await expect(user_rows.first).to_contain_text(console.admin[0])
    await expect(user_rows.first).to_contain_text("Role: operator → viewer")
    assert console.token not in await page.content()
    assert password not in await page.content()
    await page.screenshot(path=SHOTS / "audit.png", full_page=True)


async def _configure_our_side(page: Page, console: Console, inbound_url: str) -> None:
    """AS2 Instance NEWCO, partner ACME at our own endpoint, and the PartnerShip, by form."""
    await page.click("header nav >> text=AS2 Instances")
    await page.click("#new-station")
    await page.fill("#f-as2_id", "NEWCO")
    await page.fill("#f-name", "NewCo")
    await page.fill("#f-email", "edi@newco.example")
    await page.click("text=Create AS2 Instance")
    await expect(page.locator("#done")).to_be_visible()
    await page.click("header nav >> text=AS2 Instances")
    await expect(page.locator("#stations")).to_contain_text("NEWCO")
    await page.screenshot(path=SHOTS / "stations.png", full_page=True)
    await page.click("header nav >> text=Partner")
    await page.click("#new-partner")
    await page.fill("#f-as2_id", 'bad id"')  # AS2 IDs have no quotes: refused, typed kept
    await page.fill("#f-name", "Acme Corp")
    await page.fill("#f-as2_url", inbound_url)
    await page.click("text=Create Partner")
    await expect(page.locator("#f-as2_id-error")).to_be_visible()
    await expect(page.locator("#f-name")).to_have_value("Acme Corp")
    await page.screenshot(path=SHOTS / "partner-new.png", full_page=True)
    await page.fill("#f-as2_id", "ACME")
    await page.fill("#f-email", "as2@acme.example")
    await page.fill("#f-default_subject", "Orders from NewCo")
    await page.click("text=Create Partner")
    await expect(page.locator("#done")).to_be_visible()
    acme = next(p for p in console.config("GET", "/api/v1/partners").json()
                if p["as2_id"] == "ACME")  # fmt: skip
    assert acme["default_subject"] == "Orders from NewCo"
    await page.click("header nav >> text=Partner")
    await expect(page.locator("#partners")).to_contain_text("ACME")
    await page.screenshot(path=SHOTS / "partners.png", full_page=True)
    await page.click("header nav >> text=PartnerShip")
    await page.click("#new-partnership")
    await page.select_option("select[name=station_id]", label="NEWCO · NewCo")
    await page.select_option("select[name=partner_id]", label="ACME · Acme Corp")
    await page.click("text=Create PartnerShip")
    await expect(page.locator("#done")).to_be_visible()


KEYSTORE_PASSWORD = "keystore-pass-4711"


async def _openssl(*args: str, stdin: bytes | None = None) -> str:
    done = await asyncio.create_subprocess_exec(
        "openssl", *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await done.communicate(stdin)
    assert done.returncode == 0, output.decode(errors="replace")
    return output.decode(errors="replace")


def _squeezed(openssl_output: str) -> str:
    """openssl's subject lines without spaces, in lower case ("subject=CN = X" → "subject=cn=x")."""
    return openssl_output.replace(" ", "").lower()


async def _download(page: Page, link: Any) -> bytes:
    async with page.expect_download() as started:
        await link.click()
    return Path(await (await started.value).path()).read_bytes()


def _partner_side(console: Console, inbound_url: str, our_certificate: bytes) -> None:
    """What the trading partner ACME does on its own AS2 software (here: our gateway, through
    the API): knows us as partner NEWCO with the public certificate we sent it."""
    station = console.config("GET", "/api/v1/stations").json()
    acme = next(s for s in station if s["as2_id"] == "ACME")
    made = console.config("POST", "/api/v1/partners", {
        "as2_id": "NEWCO", "name": "NewCo (seen by Acme)", "as2_url": inbound_url})  # fmt: skip
    assert made.status_code == 201, made.text
    with httpx.Client(base_url=console.cert_url, headers=console.admin_headers) as cert:
        upload = cert.post("/api/v1/certificates/partner", data={"alias": made.json()["as2_alias"]},
                           files={"file": ("newco.cer", our_certificate)})  # fmt: skip
        assert upload.status_code == 201, upload.text
    link = {"station_id": acme["id"], "partner_id": made.json()["id"]}
    assert console.config("POST", "/api/v1/partnerships", link).status_code == 201


async def test_a_partner_is_onboarded_in_the_browser_and_a_test_message_is_delivered(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    """Station, partner, partnership and certificates by form; our public key downloaded for
    the partner; both .p12 files open with openssl; a test message reaches delivered; every
    change is in the audit trail with its author."""
    demo_b = next(p for p in console.config("GET", "/api/v1/partners").json()
                  if p["as2_id"] == "DEMO-B")  # fmt: skip
    inbound_url = demo_b["as2_url"]  # our own AS2 endpoint, where the partner "ACME" lives
    # The partner's side starts with its own key: it sends us its public certificate.
    acme = console.config("POST", "/api/v1/stations", {"as2_id": "ACME", "name": "Acme"})
    assert acme.status_code == 201, acme.text
    with httpx.Client(base_url=console.cert_url, headers=console.admin_headers) as cert:
        own = cert.post(
            "/api/v1/certificates/own", json={"alias": acme.json()["private_key_alias"]}
        )
        assert own.status_code == 201, own.text
    acme_cer = tmp_path / "acme.cer"
    acme_cer.write_text(own.json()["cert_pem"])

    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await console.sign_in(page, *console.admin)
    await _configure_our_side(page, console, inbound_url)

    await page.click("header nav >> text=Certificate")
    await page.click("#create-cert")
    await page.click("#choose-partnership >> text=NEWCO → ACME")
    form = page.locator("#create-generate")
    await expect(form.locator("input[name=private_key_alias]")).to_have_value("newco")
    await form.locator("input[name=password]").fill(KEYSTORE_PASSWORD)
    await form.locator("input[name=partner_file]").set_input_files(str(acme_cer))
    await page.screenshot(path=SHOTS / "certificate-new.png", full_page=True)
    await form.locator("text=Create Cert").click()
    await expect(page.get_by_role("heading", name="Keystore NEWCO → ACME")).to_be_visible()
    keystore_url = page.url

    # Download PublicKey from the PartnerShip page: the file for the partner.
    await page.click("header nav >> text=PartnerShip")
    await page.click("#partnerships >> text=NEWCO")
    await expect(page.locator("#certificate-partner")).to_contain_text(
        re.compile("CN=acme", re.IGNORECASE)
    )
    await page.screenshot(path=SHOTS / "partnership.png", full_page=True)
    newco_cer = await _download(page, page.locator("#download-public-key"))
    subject = await _openssl("x509", "-noout", "-subject", stdin=newco_cer)
    assert "cn=newco" in _squeezed(subject)
    _partner_side(console, inbound_url, newco_cer)

    # Both .p12 files open with the keystore password and hold what they should.
    await page.click("header nav >> text=Certificate")
    row = page.locator("#keystores tr", has_text="NEWCO")
    await expect(row.locator("td.ours")).to_contain_text(re.compile("CN=newco", re.IGNORECASE))
    await page.screenshot(path=SHOTS / "certificates.png", full_page=True)
    await row.locator("summary", has_text="Download").click()
    complete = await _download(page, row.locator("text=Complete KeyStore (.p12)"))
    (tmp_path / "complete.p12").write_bytes(complete)
    content = await _openssl("pkcs12", "-in", str(tmp_path / "complete.p12"), "-nodes",
                             "-passin", f"pass:{KEYSTORE_PASSWORD}")  # fmt: skip
    assert "PRIVATE KEY" in content
    assert "subject=cn=newco" in _squeezed(content)
    assert "subject=cn=acme" in _squeezed(content)
    # (the menu is still open)
    partner_only = await _download(page, row.locator("text=Partner Certificate (.p12)"))
    (tmp_path / "partner.p12").write_bytes(partner_only)
    content = await _openssl("pkcs12", "-in", str(tmp_path / "partner.p12"), "-nodes",
                             "-passin", f"pass:{KEYSTORE_PASSWORD}")  # fmt: skip
    assert "PRIVATE KEY" not in content
    assert "subject=cn=acme" in _squeezed(content)

    # A test message through the new partnership reaches delivered.
    await page.goto(keystore_url)
    await page.screenshot(path=SHOTS / "keystore.png", full_page=True)
    await page.click("#send-test")  # it reaches the partner: a page asks first
    await expect(page.locator("h1")).to_have_text("Send a test message?")
    await page.click("#confirm-test button")
    await page.wait_for_url("**/tracklog/*", timeout=30_000)
    for _ in range(60):
        if "delivered" in await page.inner_text("h1"):
            break
        await page.wait_for_timeout(250)
        await page.reload()
    await expect(page.locator("h1 .status")).to_have_text("delivered")
    await expect(page.locator("dl.facts").first).to_contain_text("NEWCO")

    # Every change is in the audit trail, with the person who made it in the browser.
    await page.click("header nav >> text=Audit")
    for _ in range(40):
        if "NEWCO → ACME" in await page.locator("table.audit").inner_text():
            break
        await page.wait_for_timeout(250)
        await page.reload()
    changes = ("station NEWCO created", "partner ACME created",
               "partnership NEWCO → ACME created", "keystore NEWCO → ACME created")  # fmt: skip
    for what in changes:
        entry = page.locator("table.audit tr", has_text=what)
        await expect(entry.first).to_contain_text(f"{console.admin[0]} via API token")


async def test_a_pkcs12_import_with_a_wrong_password_or_alias_says_so_and_stores_nothing(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    station = console.config("POST", "/api/v1/stations", {"as2_id": "IMPORTCO", "name": "I"})
    partner = console.config("POST", "/api/v1/partners", {
        "as2_id": "BETA", "name": "Beta", "as2_url": "https://as2.beta.example/as2"})  # fmt: skip
    link = {"station_id": station.json()["id"], "partner_id": partner.json()["id"]}
    assert console.config("POST", "/api/v1/partnerships", link).status_code == 201
    await _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                   "-subj", "/CN=importco", "-keyout", str(tmp_path / "k.pem"),
                   "-out", str(tmp_path / "c.pem"))  # fmt: skip
    await _openssl("pkcs12", "-export", "-inkey", str(tmp_path / "k.pem"),
                   "-in", str(tmp_path / "c.pem"), "-name", "our-key", "-passout",
                   "pass:p12-pass-right", "-out", str(tmp_path / "ours.p12"))  # fmt: skip
    await _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                   "-subj", "/CN=beta", "-keyout", str(tmp_path / "beta.key"),
                   "-out", str(tmp_path / "beta.cer"))  # fmt: skip

    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await console.sign_in(page, *console.admin)
    await page.goto(f"{console.url}/certificates/new?station=IMPORTCO&partner=BETA")
    form = page.locator("#create-import")

    async def import_with(
        password: str, key_alias: str, export_password: str = "", partner_entry: str = ""
    ) -> None:
        """With ``partner_entry``, the partner's certificate is that entry of as2_certs.p12."""
        await form.locator("input[name=file]").set_input_files(str(tmp_path / "ours.p12"))
        await form.locator("input[name=password]").fill(password)
        await form.locator("input[name=export_password]").fill(export_password)
        await form.locator("input[name=key_alias]").fill(key_alias)
        theirs = "as2_certs.p12" if partner_entry else "beta.cer"
        await form.locator("input[name=partner_file]").set_input_files(str(tmp_path / theirs))
        if partner_entry:
            await form.locator("details.p12-entry summary").click()
            await form.locator("input[name=partner_file_password]").fill("testas2")
            await form.locator("input[name=partner_file_entry]").fill(partner_entry)
        await form.locator("text=Import and Create Cert").click()

    await import_with("p12-pass-wrong", "our-key")
    await expect(form.locator(".field-error, p.error").first).to_contain_text(
        re.compile("password", re.IGNORECASE)
    )
    await import_with("p12-pass-right", "their-key")
    await expect(form).to_contain_text("our-key")  # the aliases the file holds
    await page.screenshot(path=SHOTS / "certificate-import-refused.png", full_page=True)
    # Nothing was stored: no keystore, and the partner's certificate is not in cert-svc.
    with httpx.Client(base_url=console.cert_url, headers=console.admin_headers) as cert:
        keystores = cert.get("/api/v1/keystores").json()
        beta = cert.get("/api/v1/certificates", params={"alias": "beta"}).json()
    assert not [k for k in keystores if k["partner_as2_id"] == "BETA"]
    assert beta == []

    # A keystore like OpenAS2's as2_certs.p12: our key and the partner's certificates, this
    # year's and next, each an entry of its own. This year's goes with the keystore.
    for name in ("beta-2026", "beta-2027"):
        await _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                       "-subj", f"/CN={name}", "-keyout", str(tmp_path / f"{name}.key"),
                       "-out", str(tmp_path / f"{name}.cer"))  # fmt: skip
    (tmp_path / "theirs.pem").write_bytes(
        (tmp_path / "beta-2026.cer").read_bytes() + (tmp_path / "beta-2027.cer").read_bytes()
    )
    await _openssl("pkcs12", "-export", "-inkey", str(tmp_path / "k.pem"),
                   "-in", str(tmp_path / "c.pem"), "-name", "our-key",
                   "-certfile", str(tmp_path / "theirs.pem"), "-caname", "beta-2026",
                   "-caname", "beta-2027", "-passout", "pass:testas2",
                   "-out", str(tmp_path / "as2_certs.p12"))  # fmt: skip
    await import_with(
        "p12-pass-right", "our-key", export_password="exports-pass-8", partner_entry="beta-2026"
    )
    await expect(page.get_by_role("heading", name="Keystore IMPORTCO → BETA")).to_be_visible()
    await expect(page.locator("#own-certificates")).to_contain_text(
        re.compile("CN=importco", re.IGNORECASE)
    )
    theirs = page.locator("#partner-certificate-list")
    await expect(theirs).to_contain_text(re.compile("CN=beta-2026", re.IGNORECASE))
    await expect(theirs).not_to_contain_text(re.compile("CN=beta-2027", re.IGNORECASE))
    # The keystore's .p12 is under the export password, not the file's.
    keystore_id = page.url.split("/certificates/", 1)[1].split("?", 1)[0]
    with httpx.Client(base_url=console.cert_url, headers=console.admin_headers) as cert:
        exported = cert.get(f"/api/v1/keystores/{keystore_id}/keystore.p12")
    assert exported.status_code == 200, exported.text
    assert pkcs12.load_pkcs12(exported.content, b"exports-pass-8").key is not None
    with pytest.raises(ValueError, match="Invalid password"):
        pkcs12.load_pkcs12(exported.content, b"p12-pass-right")

    # Next year's, from the same file, on the keystore's page.
    upload = page.locator("#upload-partner-certificate")

    async def upload_entry(entry: str) -> None:
        await upload.locator("input[type=file]").set_input_files(str(tmp_path / "as2_certs.p12"))
        if not await upload.locator("input[name=entry]").is_visible():
            await upload.locator("summary").click()
        await upload.locator("input[name=password]").fill("testas2")
        await upload.locator("input[name=entry]").fill(entry)
        await upload.locator("text=Upload partner certificate").click()

    await upload_entry("")
    await expect(upload.locator(".field-error").first).to_contain_text(
        "holds 2 certificate entries (beta-2026, beta-2027)"
    )
    await upload.screenshot(path=SHOTS / "keystore-partner-from-p12.png")
    await upload_entry("beta-2027")
    await expect(theirs).to_contain_text(re.compile("CN=beta-2027", re.IGNORECASE))
    await expect(theirs).to_contain_text(re.compile("CN=beta-2026", re.IGNORECASE))


async def _sent_event(console: Console, request_id: str) -> dict[str, Any]:
    """The MessageSent of a request, once tracklog-svc has it (its projection follows the bus
    a moment behind the consumer that saw the outcome)."""
    with httpx.Client(base_url=console.tracklog_url, headers=console.admin_headers) as log:
        for _ in range(100):
            found = log.get("/api/v1/messages", params={"q": request_id}).json()["items"]
            if found:
                timeline = log.get(f"/api/v1/messages/{found[0]['id']}").json()["timeline"]
                sent: list[dict[str, Any]] = [
                    e["data"] for e in timeline if e["event_type"] == "MessageSent"
                ]
                if sent:
                    return sent[-1]
            await asyncio.sleep(0.1)
    raise AssertionError(f"tracklog-svc has no MessageSent for {request_id}")


def _rotation_pair(console: Console, inbound_url: str) -> dict[str, str]:
    """Two of our stations, ROTA and ROTB, partners of each other at our own endpoint, each
    partnership with a keystore of its own (made with the API, as an automation would).
    The keystore ids by direction."""
    ids: dict[str, dict[str, str]] = {"station": {}, "partner": {}}
    for name in ("ROTA", "ROTB"):
        ids["station"][name] = console.config(
            "POST", "/api/v1/stations", {"as2_id": name, "name": name}).json()["id"]  # fmt: skip
        ids["partner"][name] = console.config("POST", "/api/v1/partners", {
            "as2_id": name, "name": name, "as2_url": inbound_url}).json()["id"]  # fmt: skip
    for ours, theirs in (("ROTA", "ROTB"), ("ROTB", "ROTA")):
        link = {"station_id": ids["station"][ours], "partner_id": ids["partner"][theirs]}
        assert console.config("POST", "/api/v1/partnerships", link).status_code == 201
    with httpx.Client(base_url=console.cert_url, headers=console.admin_headers) as cert:
        body = {"station": "ROTB", "partner": "ROTA", "password": KEYSTORE_PASSWORD}
        b = cert.post("/api/v1/keystores", json=body)
        assert b.status_code == 201, b.text
        b_cer = cert.get(f"/api/v1/keystores/{b.json()['id']}/certificate.cer").text
        body = {"station": "ROTA", "partner": "ROTB", "password": KEYSTORE_PASSWORD,
                "partner_certificate": b_cer}  # fmt: skip
        a = cert.post("/api/v1/keystores", json=body)
        assert a.status_code == 201, a.text
        a_cer = cert.get(f"/api/v1/keystores/{a.json()['id']}/certificate.cer").text
        uploaded = cert.post("/api/v1/certificates/partner", data={"alias": "rota"},
                             files={"file": ("rota.cer", a_cer.encode())})  # fmt: skip
        assert uploaded.status_code == 201, uploaded.text
    return {"ROTA→ROTB": a.json()["id"], "ROTB→ROTA": b.json()["id"]}


async def test_certificates_rotate_with_an_overlap_while_messages_flow(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    """ROTB gets a new key and ROTA its new certificate, both switching at the same second,
    set in the browser, while ROTA sends a message every 0.3 s: every message is delivered,
    and the ones after the switch are encrypted for the new certificate."""
    demo_b = next(p for p in console.config("GET", "/api/v1/partners").json()
                  if p["as2_id"] == "DEMO-B")  # fmt: skip
    keystores = _rotation_pair(console, demo_b["as2_url"])
    # As an outside system: the app user, who reads only its own replies (_INBOX.app).
    nc = await nats.connect(console.nats_url, inbox_prefix=inbox_prefix(console.nats_url))
    outcomes = await EventConsumer.open(nc.jetstream(), "rotation-test", OUTCOME_SUBJECTS)
    sent: list[str] = []
    stop = asyncio.Event()

    async def keep_sending() -> None:
        # Each document its own, as an ERP's orders are: the same bytes signed within the same
        # second give the same signature, which replay protection holds back as a copy.
        while not stop.is_set():
            numbered = DOCUMENT + f"SE*2*{len(sent):04d}~\r\n".encode()
            request = await send_document(nc, numbered, station="ROTA", partner="ROTB")
            sent.append(request.request_id)
            await asyncio.sleep(0.3)

    sender = asyncio.create_task(keep_sending())
    try:
        # Both changes must be set before the switch (checked below). With other tests running
        # beside this one (two test workers on two cores), 12 s proved too close once.
        switch = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
        at = switch.strftime("%Y-%m-%dT%H:%M:%S")
        page = await browser.new_page(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
        await console.sign_in(page, *console.admin)
        await page.goto(f"{console.url}/certificates/{keystores['ROTB→ROTA']}")
        form = page.locator("#rotate-generate")
        await form.locator("input[name=activation_at]").fill(at)
        await form.locator("text=Generate new certificate").click()
        new_row = page.locator("#own-certificates tr", has_text="scheduled")
        await expect(new_row).to_have_count(1)
        new_fingerprint = await new_row.get_attribute("data-fingerprint")
        new_cer = await _download(page, new_row.locator("text=Public certificate"))
        (tmp_path / "rotb-new.cer").write_bytes(new_cer)

        await page.goto(f"{console.url}/certificates/{keystores['ROTA→ROTB']}")
        form = page.locator("#upload-partner-certificate")
        await form.locator("input[type=file]").set_input_files(str(tmp_path / "rotb-new.cer"))
        await form.locator("input[name=activation_at]").fill(at)
        await form.locator("text=Upload partner certificate").click()
        await expect(
            page.locator("#partner-certificate-list tr", has_text="scheduled")
        ).to_have_count(1)
        await page.screenshot(path=SHOTS / "keystore-rotation.png", full_page=True)
        assert datetime.now(UTC) < switch, "the switch came before both sides were set"
        await asyncio.sleep(max(0.0, (switch - datetime.now(UTC)).total_seconds()) + 4)
    finally:
        stop.set()
        await sender
    try:
        ended = await outcomes.outcomes(sent, timeout=60)
        failed = {  # with the reason: a failure under rotation must say which side refused
            r: f"{e.event_type}: {getattr(e.data, 'reason', '')}"
            for r, e in ended.items()
            if e.event_type != "MessageDelivered"
        }
        assert failed == {}, failed
        assert len(sent) > 25  # messages before, during and after the switch
        sent_as = await _sent_event(console, sent[-1])
        assert sent_as["encrypted_for"] == new_fingerprint
    finally:
        await outcomes.unsubscribe()
        await nc.close()


async def test_times_typed_in_berlin_mean_that_dates_offset_winter_or_summer(
    console: Console, browser: Browser
) -> None:
    """A switch time typed in Europe/Berlin was once shown an hour off: the form sent the
    browser's offset of the day it was typed, so in winter a July time was read as +01:00,
    not +02:00. A winter and a summer switch time, whatever today is, are stored as typed
    in Berlin at their dates and shown back so, the zone named; the TrackLog's range too."""
    station = console.config("POST", "/api/v1/stations", {"as2_id": "ZONECO", "name": "Zone"})
    assert station.status_code == 201, station.text
    partner = console.config("POST", "/api/v1/partners", {
        "as2_id": "ZONEPARTNER", "name": "Zone", "as2_url": "http://127.0.0.1:9/as2"})  # fmt: skip
    assert partner.status_code == 201, partner.text
    link = {"station_id": station.json()["id"], "partner_id": partner.json()["id"]}
    assert console.config("POST", "/api/v1/partnerships", link).status_code == 201
    with httpx.Client(base_url=console.cert_url, headers=console.admin_headers) as cert:
        body = {"station": "ZONECO", "partner": "ZONEPARTNER", "password": KEYSTORE_PASSWORD}
        keystore = cert.post("/api/v1/keystores", json=body)
        assert keystore.status_code == 201, keystore.text
    context = await browser.new_context(timezone_id="Europe/Berlin", locale="en-US",
                                        viewport={"width": 1280, "height": 900})  # fmt: skip
    page = await context.new_page()
    await console.sign_in(page, *console.admin)
    await page.goto(f"{console.url}/certificates/{keystore.json()['id']}")
    form = page.locator("#rotate-generate")
    typed = {
        "2027-01-15T10:00:00": datetime(2027, 1, 15, 9, tzinfo=UTC),  # CET, +01:00
        "2027-07-01T10:00:00": datetime(2027, 7, 1, 8, tzinfo=UTC),
    }  # CEST, +02:00
    for scheduled, at in enumerate(typed, start=1):
        await form.locator("input[name=activation_at]").fill(at)
        await form.locator("text=Generate new certificate").click()
        rows = page.locator("#own-certificates tr", has_text="scheduled")
        await expect(rows).to_have_count(scheduled)
    with httpx.Client(base_url=console.cert_url, headers=console.admin_headers) as cert:
        stored = cert.get(f"/api/v1/keystores/{keystore.json()['id']}").json()
    pending = {datetime.fromisoformat(c["activation_at"]) for c in stored["own_certificates"]
               if c["state"] == "pending"}  # fmt: skip
    assert pending == set(typed.values())
    await expect(form.locator(".zone-name")).to_have_text(" (Europe/Berlin)")  # the form says
    own = page.locator("#own-certificates")
    await expect(own).to_contain_text("1/15/2027, 10:00:00 AM GMT+1")
    await expect(own).to_contain_text("7/1/2027, 10:00:00 AM GMT+2")

    # The TrackLog's range: each bound with its own date's offset, shown back as typed.
    await page.goto(f"{console.url}/tracklog")
    await page.fill("input[name=since]", "2027-01-15T10:00")
    await page.fill("input[name=until]", "2027-07-01T10:00")
    async with page.expect_navigation():
        await page.click("form.filters button[type=submit]")
    sent = {"since": "2027-01-15T10:00:00+01:00", "until": "2027-07-01T10:00:00+02:00"}
    assert page.url == f"{console.url}/tracklog?{urlencode(sent)}"
    await expect(page.locator("input[name=since]")).to_have_value("2027-01-15T10:00")
    await expect(page.locator("input[name=until]")).to_have_value("2027-07-01T10:00")
    await context.close()


class HookReceiver:
    """A webhook receiver on 127.0.0.1 that keeps every POST's JSON."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/as2bus"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


async def _publish(running_stack: Any, events: list[Event]) -> None:
    """Events straight onto the events stream, as the admin NATS user."""
    password = (running_stack.data / "secrets" / "nats" / "admin").read_text().strip()
    nc = await nats.connect(f"nats://admin:{password}@127.0.0.1:{running_stack.nats_port}")
    js = nc.jetstream()
    for event in events:
        dedup = {"Nats-Msg-Id": str(event.event_id)}
        await js.publish(event.subject, event.to_bytes(), headers=dedup)
    await nc.close()


async def test_notification_channels_and_rules_are_set_up_and_tested_in_the_browser(
    console: Console, browser: Browser, running_stack: Any
) -> None:
    """A webhook channel (refused first: http:// to another machine), an e-mail channel whose
    server does not answer, two rules; a test notice through each (one arrives, one says why
    not); then a partner's trouble shows as open incidents and deliveries, sent and retrying."""
    receiver = HookReceiver()
    partner = "NOTIFYCO"
    try:
        password = console.add_user("notify-admin@example.com", "admin")
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await console.sign_in(page, "notify-admin@example.com", password)
        await page.click("header nav >> text=Notifications")
        await expect(page.get_by_role("heading", name="Notifications")).to_be_visible()

        await page.click("#new-webhook")
        await page.fill("#f-name", "ops webhook")
        await page.fill("#f-url", "http://hooks.example.com/as2bus")
        await page.fill("#f-secret", HOOK_SECRET)
        await page.click("#channel-form button[type=submit]")
        await expect(page.locator("#f-url-error")).to_contain_text("must be https://")
        await expect(page.locator("#f-secret")).to_have_value("")  # never sent back
        await page.fill("#f-url", receiver.url)
        await page.fill("#f-secret", HOOK_SECRET)
        await page.click("#channel-form button[type=submit]")
        await expect(page.locator("#done")).to_have_text("Channel ops webhook created.")

        await page.click("#new-email")
        await page.fill("#f-name", "ops mail")
        await page.fill("#f-host", "127.0.0.1")
        await page.fill("#f-port", str(free_port()))  # nothing listens: it cannot be sent
        await page.fill("#f-username", "as2bus")
        await page.fill("#f-password", SMTP_PASSWORD)
        await page.fill("#f-sender", "as2bus@example.com")
        await page.fill("#f-recipients", "ops@example.com\noncall@example.com")
        await page.click("#channel-form button[type=submit]")
        await expect(page.locator("#done")).to_have_text("Channel ops mail created.")

        for name, kind, minutes in (("partner down", "partner-unreachable", "10"),
                                    ("failed messages", "message-failed", "0")):  # fmt: skip
            await page.click("#new-rule")
            await page.fill("#f-name", name)
            await page.select_option("#f-kind", kind)
            await page.fill("#f-minutes", minutes)
            await page.check("#rule-channels >> text=ops webhook")
            await page.check("#rule-channels >> text=ops mail")
            await page.click("#rule-form button[type=submit]")
            await expect(page.locator("#done")).to_have_text(f"Rule {name} created.")
        await expect(page.locator("#channel-list tbody tr")).to_have_count(2)
        await expect(page.locator("#channel-list")).to_contain_text(
            "ops@example.com, oncall@example.com via 127.0.0.1"
        )
        rules = page.locator("#rule-list tbody tr")
        both = r"\s+ops mail, ops webhook\s+On"
        await expect(rules).to_have_text([
            re.compile(r"failed messages\s+Message failed\s+at once\s+60 min" + both),
            re.compile(r"partner down\s+Partner unreachable\s+10 min\s+60 min" + both),
        ])  # fmt: skip

        await page.click("button[aria-label='Send a test through ops webhook']")
        await expect(page.locator("#done")).to_have_text(
            "A test notice went out through channel ops webhook."
        )
        # A new rule sees trouble already going on: failures other tests left unresent fire
        # at once (their own notices); this partner has none yet.
        tests = [p["title"] for p in receiver.posts if not p["title"].startswith("FIRING")]
        assert tests == ["TEST: as2bus notifications reach you"]
        assert not any(partner in p["title"] for p in receiver.posts)
        await page.click("button[aria-label='Send a test through ops mail']")
        await expect(page.locator("#form-problems")).to_contain_text(
            "Channel ops mail: the test notice did not go out:"
        )

        retry = Retry(
            request_id="n-1",
            message_id="<n-1@us>",
            station="DEMO-A",
            partner=partner,
            attempt=1,
            reason="connection refused",
            next_attempt_at=datetime.now(UTC),
        )
        failure = Failure(request_id="n-2", message_id="<n-2@us>", station="DEMO-A",
                          partner=partner, attempts=3, reason="HTTP 403 from the partner",
                          code="partner-refused")  # fmt: skip
        await _publish(running_stack, [MessageRetrying(data=retry), MessageFailed(data=failure)])
        await page.goto(f"{console.url}/notifications")
        for _ in range(60):  # server-rendered: reload until this partner's e-mail was tried once
            ours = page.locator("#delivery-list tbody tr", has_text=partner)
            if await ours.filter(has_text="retrying").count():
                break
            await page.wait_for_timeout(250)
            await page.reload()
        incidents = page.locator("#incident-list tbody tr", has_text=partner)
        await expect(incidents).to_have_count(2)
        await expect(incidents.filter(has_text="partner down")).to_contain_text("waiting")
        await expect(incidents.filter(has_text="failed messages")).to_contain_text("firing")
        deliveries = page.locator("#delivery-list tbody tr", has_text=partner)
        await expect(deliveries.filter(has_text="ops webhook")).to_contain_text("sent")
        await expect(deliveries.filter(has_text="ops mail")).to_contain_text("retrying")
        assert f"FIRING: messages to {partner} failed" in [p["title"] for p in receiver.posts]
        await page.screenshot(path=SHOTS / "notifications.png", full_page=True)
        assert HOOK_SECRET not in await page.content()

        # Off, then gone: a rule switched off and deleted; nothing is left for other tests.
        await page.click("button[aria-label='Disable failed messages']")
        await expect(page.locator("#done")).to_have_text("Rule failed messages is off.")
        for name in ("failed messages", "partner down"):
            await page.click(f"#rule-list >> text={name}")
            await page.click("#delete")
            await page.click("#confirm-delete button[type=submit]")
            await expect(page.locator("#done")).to_have_text(f"Rule {name} deleted.")
        for name in ("ops webhook", "ops mail"):
            await page.click(f"#channel-list >> text={name}")
            await page.click("#delete")
            await page.click("#confirm-delete button[type=submit]")
            await expect(page.locator("#done")).to_have_text(f"Channel {name} deleted.")
        await expect(page.locator("#no-channels")).to_be_visible()
    finally:
        receiver.close()


# Last: the pages hold what the tests before made (lists, certificates, the audit trail).
PHONE_PAGES = ["/", "/tracklog", "/send", "/health", "/stations", "/partners", "/partners/new",
               "/partnerships/new", "/certificates", "/certificates/new", "/users",
               "/notifications", "/audit"]  # fmt: skip


async def test_pages_fit_a_phone_screen(console: Console, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    await console.sign_in(page, *console.admin)
    too_wide = {}
    for path in PHONE_PAGES:
        await page.goto(f"{console.url}{path}")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            too_wide[path] = (overflow, await page.evaluate(
                """[...document.querySelectorAll('body *')]
                     .filter(e => e.getBoundingClientRect().right
                                  > document.documentElement.clientWidth)
                     .slice(0, 5)
                     .map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 60))"""
            ))  # fmt: skip
        if path == "/tracklog":
            await page.screenshot(path=SHOTS / "tracklog-phone.png", full_page=True)
    assert too_wide == {}, f"wider than the screen (px, elements): {too_wide}"


#: Each word of the elements' text that the browser laid out over more than one line ("Waitin"
#: over "g"). A token that cannot be a word, a URL or anything over 30 characters (a Message-ID,
#: a hash), may break; a fingerprint is a word per hex pair (the page puts a <wbr> after each
#: colon). What is not shown (a screen reader's label, a closed menu) is left out.
_BROKEN_WORDS = """els => els.flatMap(e => {
    const broken = [], range = document.createRange();
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.parentElement.closest('.sr-only, details:not([open]) > :not(summary)')) continue;
        for (const m of node.data.matchAll(/\\S+/g)) {
            if (m[0].length > 30 || m[0].includes('://')) continue;
            range.setStart(node, m.index);
            range.setEnd(node, m.index + m[0].length);
            const lines = new Set([...range.getClientRects()].filter(r => r.width > 0)
                                   .map(r => Math.round(r.top)));
            if (lines.size > 1) broken.push(m[0]);
        }
    }
    return broken;
})"""

#: Elements of main that reach past the right edge of the viewport without a scrolling box (a
#: table that scrolls inside itself) around them: the page would scroll sideways.
_PAST_THE_EDGE = """() => {
    const width = document.documentElement.clientWidth;
    const scrolled = e => {
        for (let box = e.parentElement; box && box !== document.body; box = box.parentElement) {
            if (['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) return true;
        }
        return false;
    };
    return [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > width + 0.5 && !scrolled(e))
        .map(e => e.tagName + '.' + e.className + ': ' + e.textContent.trim().slice(0, 60));
}"""


async def test_words_stay_whole_and_long_tokens_wrap_at_desktop_and_phone_width(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    """The pages read "Waitin g", "Test the connectio n", "NEWC O", "Subje ct" and split a
    fingerprint inside a hex pair: any text could break anywhere, so a crowded table shrank its
    columns below their words. Titles, names, states and buttons stay whole; a partner's long
    URL wraps; a fingerprint breaks between its pairs only; nothing runs off the page.
    Screenshots of each page at both widths go to tmp_path."""
    station = console.config("POST", "/api/v1/stations", {"as2_id": "WHOLECO", "name": "W"})
    assert station.status_code == 201, station.text
    long_url = "http://127.0.0.1:9/as2/" + "receive-documents-from-partners-" * 4
    partner = console.config("POST", "/api/v1/partners", {
        "as2_id": "WHOLEPARTNER", "name": "Whole words", "as2_url": long_url})  # fmt: skip
    assert partner.status_code == 201, partner.text
    link = {"station_id": station.json()["id"], "partner_id": partner.json()["id"]}
    assert console.config("POST", "/api/v1/partnerships", link).status_code == 201
    with httpx.Client(base_url=console.cert_url, headers=console.admin_headers) as cert:
        body = {"station": "WHOLECO", "partner": "WHOLEPARTNER", "password": KEYSTORE_PASSWORD}
        keystore = cert.post("/api/v1/keystores", json=body)
        assert keystore.status_code == 201, keystore.text
        ours = cert.get(f"/api/v1/keystores/{keystore.json()['id']}/certificate.cer").text
        theirs = cert.post("/api/v1/certificates/partner", data={"alias": "wholepartner"},
                           files={"file": ("wholepartner.cer", ours.encode())})  # fmt: skip
        assert theirs.status_code == 201, theirs.text

    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await console.sign_in(page, *console.admin)
    pages = {"health": "/health", "certificates": "/certificates",
             "keystore": f"/certificates/{keystore.json()['id']}", "audit": "/audit"}  # fmt: skip
    labels = "main :is(h1, h2, th, td, dt, dd, button, summary)"
    fingerprints: list[list[str]] = []
    for width in (1280, 390):
        await page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            await page.goto(f"{console.url}{path}")
            await page.screenshot(path=tmp_path / f"{name}-{width}.png", full_page=True)
            where = f"{path} at {width} px"
            assert await page.locator(labels).evaluate_all(_BROKEN_WORDS) == [], where
            assert await page.evaluate(_PAST_THE_EDGE) == [], where
            for lines in await page.locator("main code.fp").evaluate_all(
                f"els => els.map({_LINES})"
            ):
                assert all(line.endswith(":") for line in lines[:-1]), (where, lines)
                fingerprints.append(lines)
            if name == "health" and width > 700:  # the table fits the page: the URL wraps
                url = page.locator("table.health tr", has_text="WHOLEPARTNER").locator("small")
                assert await url.evaluate_all(_WRAPPED) != []
    assert any(len(lines) > 1 for lines in fingerprints)  # some did break: between pairs


async def test_an_operator_reads_a_partner_on_a_short_page_at_desktop_and_phone_width(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    """An operator or a viewer got the admin's form disabled: 4,400 px tall, marked
    "(required)", the partner's PartnerShips at the very bottom. They read its PartnerShips
    first, then its settings as the form groups them: no form control, a secret only as set,
    a certificate by subject and expiry, words whole, nothing past the edge. An AS2 Instance's
    page likewise. Screenshots at both widths go to tmp_path."""
    ca = PrivateCa("READCO private CA")
    station = console.config("POST", "/api/v1/stations", {"as2_id": "READCO", "name": "Reader"})
    assert station.status_code == 201, station.text
    partner = console.config("POST", "/api/v1/partners", {
        "as2_id": "READPARTNER", "name": "Read only", "as2_url": "https://127.0.0.1:9/as2",
        "http_auth": {"type": "basic", "username": "readco", "password": HOOK_SECRET},
        "tls": {"ca_bundle_pem": ca.cert_pem.decode(),
                "pinned_sha256": [public_key_sha256(ca.cert_pem)]},
    })  # fmt: skip
    assert partner.status_code == 201, partner.text
    link = {"station_id": station.json()["id"], "partner_id": partner.json()["id"]}
    assert console.config("POST", "/api/v1/partnerships", link).status_code == 201
    password = console.add_user("reader@example.com", "operator")
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await console.sign_in(page, "reader@example.com", password)
    main, until = page.locator("main"), f"{ca.cert.not_valid_after_utc:%Y-%m-%d}"
    for width in (1280, 390):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(f"{console.url}/partners/{partner.json()['id']}")
        await page.screenshot(path=tmp_path / f"partner-read-{width}.png", full_page=True)
        where = f"at {width} px"
        await expect(main.locator("input, select, textarea, button")).to_have_count(0)
        await expect(main).not_to_contain_text("(required)")
        await expect(main).not_to_contain_text(HOOK_SECRET)
        await expect(page.locator("#fact-auth_password")).to_have_text("Set")
        await expect(page.locator("#fact-tls_ca_bundle_pem")).to_have_text(
            f"CN=READCO private CA, until {until}"
        )
        ship = await page.locator("#partnerships").bounding_box()
        first = await page.locator("#partner-identity").bounding_box()
        assert ship is not None
        assert first is not None
        assert ship["y"] < first["y"], where  # PartnerShips first
        labels = "main :is(h1, h2, h3, dt, dd, a)"
        assert await page.locator(labels).evaluate_all(_BROKEN_WORDS) == [], where
        assert await page.evaluate(_PAST_THE_EDGE) == [], where
        if width > 700:  # two columns of groups: a short page
            assert await page.evaluate("document.documentElement.scrollHeight") < 2200
        # The AS2 Instance's page likewise: its PartnerShips, then its settings.
        await page.goto(f"{console.url}/stations/{station.json()['id']}")
        await page.screenshot(path=tmp_path / f"station-read-{width}.png", full_page=True)
        await expect(main.locator("input, select, textarea, button")).to_have_count(0)
        await expect(page.locator("#fact-as2_id")).to_have_text("READCO")
        assert await page.locator(labels).evaluate_all(_BROKEN_WORDS) == [], where
        assert await page.evaluate(_PAST_THE_EDGE) == [], where


#: Each element's lines, but for the last, end at a separator ("/", ".", "-"…) or a space.
_ENDS_AT_SEPARATORS = """els => els.map(e => {
    const tops = new Map(), range = document.createRange();
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            range.setStart(node, i); range.setEnd(node, i + 1);
            const box = range.getBoundingClientRect();
            if (box.width === 0) continue;
            const top = Math.round(box.top);
            tops.set(top, (tops.get(top) || '') + node.data[i]);
        }
    }
    const lines = [...tops.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
    return lines.slice(0, -1).filter(l => !/[\\/.\\-_?&=@: ]$/.test(l));
}).flat()"""


async def test_an_admins_menu_fits_one_line_with_the_role_shown_and_urls_break_whole(
    console: Console, browser: Browser
) -> None:
    """At 1366 px (a common laptop) an admin's menu wrapped onto a second line, the role was
    only a tooltip, and Partner health broke a partner's URL mid-word ("exam" over "ple"). The
    menu now fits down to 1280 px."""
    page = await browser.new_page(viewport={"width": 1280, "height": 768})
    await console.sign_in(page, *console.admin)
    await page.goto(f"{console.url}/health")
    tops = await page.locator("header.top nav a").evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
    )
    assert len(tops) == 11  # an admin's whole menu
    assert len(set(tops)) == 1, tops
    await expect(page.locator("header .who .role")).to_have_text("admin")
    await page.screenshot(path=SHOTS / "header.png", clip={"x": 0, "y": 0, "width": 1280,
                                                          "height": 80})  # fmt: skip
    for width in (1366, 760):
        await page.set_viewport_size({"width": width, "height": 800})
        urls = page.locator("table.health td:first-child small")
        assert await urls.count() >= 2
        assert await urls.evaluate_all(_ENDS_AT_SEPARATORS) == [], width
