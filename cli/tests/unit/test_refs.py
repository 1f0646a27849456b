"""REF arguments: AS2 IDs, UUIDs, STATION:PARTNER."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

Run = Callable[..., Any]


def paths(api: Any) -> list[str]:
    return [f"{r.method} {r.url.path}?{r.url.query.decode()}".rstrip("?") for r in api.requests]


def test_an_as2_id_is_looked_up_with_the_filter(run: Run, api: Any) -> None:
    api.add("stations", as2_id="MYCO", name="My Co")
    assert run("station", "show", "MYCO").exit_code == 0
    assert paths(api) == ["GET /api/v1/stations?as2_id=MYCO"]


def test_a_uuid_is_fetched_directly(run: Run, api: Any) -> None:
    partner = api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    result = run("partner", "show", partner["id"])
    assert result.exit_code == 0, result.output
    assert paths(api) == [f"GET /api/v1/partners/{partner['id']}"]


def test_an_as2_id_shaped_like_a_uuid_still_resolves(run: Run, api: Any) -> None:
    odd = str(uuid.uuid4())
    api.add("stations", as2_id=odd, name="Odd")
    result = run("station", "show", odd)
    assert result.exit_code == 0, result.output
    assert f"as2_id:                   {odd}" in result.stdout.splitlines()


def test_an_unknown_ref_is_an_error(run: Run) -> None:
    result = run("partner", "show", "nobody")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: no partner with AS2 ID or id 'nobody' (see: as2bus partner list)\n"
    )


def test_partnerships_are_named_station_colon_partner(run: Run, api: Any) -> None:
    station = api.add("stations", as2_id="MY:CO", name="Colon")  # AS2 IDs may hold ':'
    partner = api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    link = api.add("partnerships", station_id=station["id"], partner_id=partner["id"])
    shown = run("partnership", "show", "MY:CO:amazon")
    assert shown.exit_code == 0, shown.output
    assert f"id:             {link['id']}" in shown.stdout.splitlines()
    assert run("partnership", "show", link["id"]).exit_code == 0
    missing = run("partnership", "show", "MY:CO:nobody")
    assert missing.exit_code == 1
    assert "no partnership 'MY:CO:nobody'" in missing.stderr
    assert "neither a partnership id" in run("partnership", "show", "plain").stderr


def test_partnership_create_resolves_both_sides(run: Run, api: Any) -> None:
    station = api.add("stations", as2_id="MYCO", name="My Co")
    partner = api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    result = run(
        "partnership", "create", "--station", "MYCO", "--partner", partner["id"], "--disabled"
    )
    assert result.exit_code == 0, result.output
    body = {"station_id": station["id"], "partner_id": partner["id"], "enabled": False}
    assert api.bodies("POST") == [body]
    assert "station_as2_id: MYCO" in result.stdout.splitlines()


def test_partnership_list_filters_by_resolved_ids(run: Run, api: Any) -> None:
    station = api.add("stations", as2_id="MYCO", name="My Co")
    other = api.add("stations", as2_id="OTHER", name="Other")
    partner = api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    api.add("partnerships", station_id=station["id"], partner_id=partner["id"])
    api.add("partnerships", station_id=other["id"], partner_id=partner["id"])
    result = run("partnership", "list", "--station", "MYCO", "--partner", "amazon")
    assert result.exit_code == 0, result.output
    assert (
        f"GET /api/v1/partnerships?station_id={station['id']}&partner_id={partner['id']}"
        in paths(api)
    )
    rows = result.stdout.splitlines()[1:]
    assert [r.split()[:3] for r in rows] == [["MYCO", "amazon", "yes"]]
