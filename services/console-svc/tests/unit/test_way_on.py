"""Where a page sends the operator on to: the configuration pages back to their list, a
"Not found" page on to the list of what it looked for (not always the TrackLog)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from .conftest import client, sign_in
from .test_config_pages import ADMIN, ConfigBackends, pair
from .test_config_pages import backends as backends  # the fixture, re-exported for these tests


async def test_a_page_leads_back_to_its_list_not_to_a_bare_arrow(
    app: Any, backends: ConfigBackends
) -> None:
    """The crumbs read "PartnerShip" and a bare arrow after it (U+203A), leading nowhere."""
    ship = pair(backends)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        pages = {path: (await http.get(path)).text for path in (
            "/stations/new", f"/stations/{ship['station_id']}", "/partnerships/new",
            f"/partnerships/{ship['id']}")}  # fmt: skip
    for path, page in pages.items():
        (crumbs,) = re.findall(r'<p class="crumbs">(.*?)</p>', page)
        assert "\u203a" not in crumbs, path
    assert '<a href="/stations">← AS2 Instances</a>' in pages["/stations/new"]
    assert '<a href="/partnerships">← PartnerShip</a>' in pages["/partnerships/new"]


async def test_not_found_offers_the_list_of_what_was_looked_for_in_plain_words(
    app: Any, backends: ConfigBackends
) -> None:
    """It said "There is no download 'foo'" and always offered "Open the TrackLog"."""
    async with client(app) as http:
        await sign_in(http, ADMIN)
        partner = await http.get(f"/partners/{uuid.uuid4()}")
        station = await http.get("/stations/not-an-id")
        download = await http.get("/tracklog/m1/download/foo")
        document = await http.get("/tracklog/m1/download/attachment/x")
    assert partner.status_code == station.status_code == download.status_code == 404
    assert '<a href="/partners">Open the Partner list</a>' in partner.text
    assert '<a href="/stations">Open the AS2 Instances list</a>' in station.text
    assert '<a href="/tracklog">Open the TrackLog</a>' in download.text
    assert "There is no foo to download for message m1." in download.text
    assert "There is no document x of message m1." in document.text
    for answer in (download, document):
        assert "&#34;" not in answer.text  # no quoted value
        assert "&#39;" not in answer.text
