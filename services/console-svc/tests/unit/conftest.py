"""The console in process for the unit tests: fake backends (tracklog-svc, config-svc), a fake
object store, a fake sender, and SQLite on a temporary file.

The console's components take its adapters themselves (``Backend``, ``Backends``, ``Sender``,
``DocumentStore``), not ports: each fake is a subclass that answers in process, without the
client or connection its adapter would have (what a fake does not answer fails). ``fakes_of``
gives a test the fakes an app holds, typed as such."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

import httpx
import pytest
from nats.js.errors import ObjectNotFoundError

from as2bus.console.adapters.backends import Backend, BackendError, Backends, File
from as2bus.console.adapters.sending import Sender, Upload
from as2bus.console.adapters.tables import metadata
from as2bus.console.bootstrap import assemble
from as2bus.console.domain.roles import Role
from as2bus.console.settings import ConsoleSettings
from as2bus.console.wiring import Components, wiring
from as2bus.contracts import DOCUMENTS_BUCKET, DocumentRef
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.db import create_engine

TOKEN = "console-unit-token"


class FakeTracklog(Backend):
    """Two pages of messages (a cursor between them) when asked for partner ACME; the details
    and certificates a test puts in. ``listed`` is the one page of any other list, but only
    its rows that match when asked for a message's resends (``replays``) or its original
    (``message_id``). A list asked to count says ``matching`` (capped at 10,000 as the
    service caps it); the live stream is asked (``streamed``) and answers 503."""

    name = "tracklog-svc"

    def __init__(self) -> None:
        self.asked: list[Any] = []
        self.details: dict[str, dict[str, Any]] = {}
        self.certificates: list[dict[str, Any]] = []
        self.listed: list[dict[str, Any]] = []  # the unfiltered list's one page
        self.counts: list[dict[str, Any]] = []  # the dashboard's statistics
        self.partner_health: list[dict[str, Any]] = []  # /partners/health: none by default
        self.matching = 0
        self.streamed: list[Any] = []

    async def get(self, path: str, params: Any = None) -> Any:
        answer = await self._answer(path, params)
        if path == "/api/v1/messages" and (params or {}).get("count") == "true":
            answer |= {"count": min(self.matching, 10_000), "count_capped": self.matching > 10_000}
        return answer

    def stream(self, path: str, params: Any = None) -> Any:
        self.streamed.append((path, params))
        transport = httpx.MockTransport(lambda _request: httpx.Response(503))
        return httpx.AsyncClient(transport=transport, base_url="http://t").stream("GET", path)

    async def _answer(self, path: str, params: Any) -> Any:
        self.asked.append((path, params))
        if path == "/api/v1/stats":
            return {"counts": self.counts, "time_to_mdn": [], "certificates": []}
        if path == "/api/v1/messages" and (params or {}).get("partner") == "ACME":
            first = (params or {}).get("cursor") is None
            names = ["a.x12", "b.x12"] if first else ['c, "quoted".x12']
            items = [{"filename": n, "partner": "ACME", "status": "delivered"} for n in names]
            return {"items": items, "next_cursor": "page-2" if first else None}
        linked = {k: v for k, v in (params or {}).items() if k in ("replays", "message_id")}
        if path == "/api/v1/messages" and linked:  # a message's resends, or its original
            found = [m for m in self.listed if all(m.get(k) == v for k, v in linked.items())]
            return {"items": found, "next_cursor": None}
        if path == "/api/v1/messages":
            return {"items": self.listed, "next_cursor": None}
        if path == "/api/v1/certificates":
            return self.certificates
        if path == "/api/v1/partners/health":
            return self.partner_health
        if path.startswith("/api/v1/messages/"):
            return self.details.get(path.rsplit("/", 1)[1])
        return None


class FakeConfig(Backend):
    """No stations or partners, unless a test puts some in (``stations``, ``partners``: the
    API's lists, by path); ``down``: config-svc cannot be reached."""

    name = "config-svc"

    def __init__(self) -> None:
        """No client: it answers itself."""
        self.listed: dict[str, list[dict[str, Any]]] = {}
        self.down = False
        self.asked: list[str] = []

    async def get(self, path: str, params: Any = None) -> Any:
        self.asked.append(path)
        if self.down:
            raise BackendError("config-svc cannot be reached just now (test)")
        return self.listed.get(path, [])


class FakeOutbound(Backend):
    """outbound-svc's documents of the messages we sent (its routes under
    /api/v1/messages/{message_id}/documents): ``kept`` by Message-ID, each document's bytes
    while it keeps them (sent inline), None when it does not (in the object store, or its
    retention is over). A message it has no entry for is one it never sent."""

    name = "outbound-svc"

    def __init__(self) -> None:
        self.kept: dict[str, list[bytes | None]] = {}
        self.asked: list[str] = []

    def _find(self, path: str) -> tuple[list[bytes | None] | None, int | None]:
        self.asked.append(path)
        found = re.fullmatch(r"/api/v1/messages/([^/]+)/documents(?:/(\d+))?", path)
        assert found is not None, f"outbound-svc has no route {path}"
        number = int(found.group(2)) if found.group(2) else None
        return self.kept.get(unquote(found.group(1))), number

    async def get(self, path: str, params: Any = None) -> Any:
        documents, _ = self._find(path)
        if documents is None:
            return None
        return [{"number": n, "kept_in": "outbound-svc" if data is not None else "no-longer"}
                for n, data in enumerate(documents, start=1)]  # fmt: skip

    async def file(self, path: str) -> File | None:
        documents, number = self._find(path)
        assert number is not None
        if documents is None or not 1 <= number <= len(documents):
            return None
        data = documents[number - 1]
        return None if data is None else File(data, "application/octet-stream", "kept")


class FakeBackends(Backends):
    """tracklog-svc, config-svc and outbound-svc's documents (no cert-svc)."""

    tracklog: FakeTracklog
    config: FakeConfig
    outbound: FakeOutbound

    def __init__(self) -> None:
        self.tracklog = FakeTracklog()
        self.config = FakeConfig()
        self.outbound = FakeOutbound()

    async def enabled_partnerships(self) -> list[dict[str, Any]]:
        return [{"id": "p1", "station_as2_id": "MYCO", "partner_as2_id": "ACME"}]


class FakeSender(Sender):
    """Records what it was asked to send: per message, the first file's bytes and the fields
    (its filename and content_type among them) in ``sent``, every file in ``files``."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, dict[str, Any]]] = []
        self.files: list[list[tuple[str | None, str, bytes]]] = []

    async def send_files(self, uploads: Sequence[Upload], **fields: Any) -> str:
        files = []
        for upload in uploads:
            upload.file.seek(0)
            data = upload.file.read()
            assert len(data) == upload.size
            files.append((upload.filename, upload.content_type, data))
        first_name, first_type, first_data = files[0]
        self.sent.append((first_data, {**fields, "filename": first_name,
                                       "content_type": first_type}))  # fmt: skip
        self.files.append(files)
        return "console-req-1"


class FakeDocuments(DocumentStore):
    """The object store (DocumentStore's methods): reads in small chunks, counting the chunks
    read and the reads not closed yet; writes, one of which may fail."""

    def __init__(self, chunk_size: int = 64) -> None:
        self.objects: dict[str, bytes] = {}
        self.chunk_size = chunk_size
        self.chunks_read = 0
        self.open_reads = 0
        self.puts = 0
        self.fail_at_put: int | None = None  # that put_file (from 1) raises

    async def put_file(self, name: str, file: BinaryIO, offset: int, size: int) -> DocumentRef:
        self.puts += 1
        if self.puts == self.fail_at_put:
            raise OSError(f"the store refused {name}")
        file.seek(offset)
        return self.keep(name, file.read(size))

    async def delete(self, name: str) -> bool:
        return self.objects.pop(name, None) is not None

    def keep(self, name: str, data: bytes) -> DocumentRef:
        self.objects[name] = data
        digest = hashlib.sha256(data).hexdigest()
        return DocumentRef(bucket=DOCUMENTS_BUCKET, name=name, size=len(data), sha256=digest)

    async def stored(self, name: str) -> tuple[int, str | None] | None:
        data = self.objects.get(name)
        return None if data is None else (len(data), hashlib.sha256(data).hexdigest())

    async def chunks(self, ref: DocumentRef) -> AsyncIterator[bytes]:
        if ref.name not in self.objects:
            raise ObjectNotFoundError
        data = self.objects[ref.name]
        self.open_reads += 1
        try:
            for start in range(0, len(data), self.chunk_size):
                self.chunks_read += 1
                yield data[start : start + self.chunk_size]
        finally:
            self.open_reads -= 1


async def _console(database: Path, **settings: Any) -> Any:
    """The console on a fresh SQLite file, with ``settings`` (environment names) on top of
    the tests' own; the lifespan's parts are stand-ins."""
    url = f"sqlite+aiosqlite:///{database}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    # Plain http in process: the cookies must not be Secure (the default) to come back.
    loaded = ConsoleSettings.model_validate(
        {"database_url": url, "api_token": TOKEN, "auto_migrate": False,
         "AS2BUS_CONSOLE_COOKIE_SECURE": False, **settings}
    )  # fmt: skip
    application, complete = assemble(loaded)
    # What the lifespan (not run here) would connect: stand-ins.
    fakes = complete(sender=FakeSender(), documents=FakeDocuments(), backends=FakeBackends())
    wiring.install(application, fakes)
    return application


@pytest.fixture
async def app(tmp_path: Path) -> Any:
    application = await _console(tmp_path / "console.db")
    accounts = wiring.of(application).accounts
    for email, role in (("admin@example.com", Role.ADMIN), ("viewer@example.com", Role.VIEWER)):
        await accounts.create_user(email, role, "correct horse battery")
    return application


@pytest.fixture
async def proxied(tmp_path: Path) -> Any:
    """The console behind an authenticating proxy at 10.0.0.0/8."""
    return await _console(
        tmp_path / "sso.db",
        AS2BUS_CONSOLE_TRUSTED_PROXIES=["10.0.0.0/8"],
        AS2BUS_CONSOLE_GROUP_ROLES={"as2-ops": "operator", "as2-admins": "admin"},
    )


class Fakes:
    """The parts ``app`` (or ``proxied``) wires in place of what its lifespan would connect,
    as the app holds them now: a test may have put a real one in place of a fake."""

    def __init__(self, parts: Components) -> None:
        self._parts = parts

    @property
    def sender(self) -> FakeSender:
        assert isinstance(self._parts.sender, FakeSender)
        return self._parts.sender

    @property
    def documents(self) -> FakeDocuments:
        assert isinstance(self._parts.documents, FakeDocuments)
        return self._parts.documents

    @property
    def backends(self) -> FakeBackends:
        assert isinstance(self._parts.backends, FakeBackends)
        return self._parts.backends


def fakes_of(app: Any) -> Fakes:
    return Fakes(wiring.of(app))


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console")


def via(app: Any, address: str) -> httpx.AsyncClient:
    """A client whose connection comes from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://console")


async def sign_in(http: httpx.AsyncClient, email: str) -> str:
    form = (await http.get("/login")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    answer = await http.post("/login", data={"email": email, "password": "correct horse battery",
                                             "csrf": csrf.group(1), "next": "/send"})  # fmt: skip
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def audit_rows(app: Any, **filters: str) -> list[str]:
    """The Audit page's rows, as text without their times, newest first."""
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = await http.get("/audit", params=filters)
    assert page.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", page.text, re.S)
    texts = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in rows[1:]]
    return [re.sub(r"^\S+ \S+ UTC ", "", t).replace("@ ", "@") for t in texts]
