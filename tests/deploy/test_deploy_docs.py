"""docs/deploy.md's production path against the manifests: its Secrets script (run against a
stand-in kubectl) creates what the prod overlay reads, its tables and per-service loops name
every service, and every database is created (managed SQL, the CloudNativePG example) and
backed up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .manifests import K8S, ROOT, SERVICES, documents, render
from .secret_scripts import (
    created_secrets,
    fake_uv,
    missing,
    referenced,
    run,
    script_env,
    tls_secrets,
)

DEPLOY_MD = ROOT / "docs" / "deploy.md"


def _section(title: str) -> str:
    """The text of docs/deploy.md's section whose heading ends with ``title``."""
    text = DEPLOY_MD.read_text()
    match = re.search(rf"^## (?:\d+\. )?{re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, f"docs/deploy.md has no section {title!r}"
    return match.group(1)


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M)


def test_the_secrets_of_deploy_md_are_what_the_prod_overlay_reads(tmp_path: Path) -> None:
    env = script_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    for svc in SERVICES:  # step 2's database passwords
        (work / f"pg-{svc.removesuffix('-svc')}.pw").write_text("0123abcd\n")
    fake_uv(work / "as2bus")  # ./as2bus keygen
    script = "\n".join(_bash_blocks(_section("Secrets")))
    done = run(["bash", "-euo", "pipefail", "-c", script], env, work)
    assert done.returncode == 0, done.stderr
    created = created_secrets(env)
    assert missing(created, documents(render("prod"))) == []
    assert created["as2bus-notify-svc"]["database-url"].startswith(
        "postgresql+asyncpg://as2bus_notify:0123abcd@"
    )


def _table_rows(section: str) -> list[tuple[str, str]]:
    """(first cell, whole row) of each row of the section's tables."""
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [(row.split("|")[1], row) for row in rows]


def _listed(name: str, rows: list[tuple[str, str]]) -> bool:
    for first, row in rows:
        if f"`{name}`" in first:
            return True
        for pattern in re.findall(r"`([^`]*<[^`]*)`", first):  # as2bus-<svc>-svc
            regex = re.sub(
                r"<[^>]+>", "([a-z]+)", re.escape(pattern).replace(r"\<", "<").replace(r"\>", ">")
            )
            match = re.fullmatch(regex, name)
            if match and re.search(rf"\b{match.group(1)}\b", row):
                return True
    return False


def test_the_secrets_table_of_deploy_md_lists_every_secret_and_nats_user() -> None:
    docs = documents(render("prod"))
    rows = _table_rows(_section("Secrets"))
    for name in [*referenced(docs), *tls_secrets(docs)]:
        assert _listed(name, rows), f"{name} is missing from the Secrets table of docs/deploy.md"
    (nats_row,) = [row for first, row in rows if "`as2bus-nats-users`" in first]
    for user in referenced(docs)["as2bus-nats-users"]:
        assert f"`{user}`" in nats_row, user
    assert not _listed("as2bus-unknown-svc", rows)  # the matcher can say no


def test_every_per_service_loop_of_deploy_md_names_every_service() -> None:
    loops = re.findall(r"for svc in ([^;]+); do", DEPLOY_MD.read_text())
    assert (
        len(loops) >= 5
    )  # images: push and set; databases: passwords, SQL, CloudNativePG; Secrets
    for loop in loops:
        names = {name.removesuffix("-svc") for name in loop.split()}
        assert names == {svc.removesuffix("-svc") for svc in SERVICES}, loop


@pytest.mark.parametrize("section", ["PostgreSQL: one database per service", "Backups"])
def test_deploy_md_names_every_database(section: str) -> None:
    text = _section(section)
    for svc in SERVICES:
        assert f"`as2bus_{svc.removesuffix('-svc')}`" in text, (section, svc)


def test_the_cloudnativepg_example_has_a_role_and_a_database_per_service() -> None:
    example = documents((K8S / "overlays" / "prod" / "cloudnativepg.example.yaml").read_text())
    (cluster,) = [d for d in example if d["kind"] == "Cluster"]
    roles = {r["name"]: r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"]["owner"] for d in example if d["kind"] == "Database"}
    for svc in SERVICES:
        short = svc.removesuffix("-svc")
        assert roles.get(f"as2bus_{short}") == f"as2bus-pg-{short}", svc
        assert databases.get(f"as2bus_{short}") == f"as2bus_{short}", svc
    assert len(roles) == len(databases) == len(SERVICES)
