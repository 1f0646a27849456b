"""deploy/k8s/overlays/dev/make-secrets.sh, run against a stand-in kubectl: it creates every
Secret and key the dev overlay reads and nothing unread, can run again without replacing
anything, and finds uv on PATH or where `make sync` installs it."""

from __future__ import annotations

import shutil
from pathlib import Path

from .manifests import ROOT, SERVICES, documents, render
from .secret_scripts import (
    MAKE_SECRETS,
    created_secrets,
    fake_uv,
    missing,
    referenced,
    run,
    script_env,
    tls_secrets,
)


def test_the_reference_finder_sees_the_secrets_of_every_service() -> None:
    refs = referenced(documents(render("prod")))
    for svc in SERVICES:
        assert refs[f"as2bus-{svc}"] == {"database-url", "nats-url"}
    assert set(SERVICES) <= refs["as2bus-nats-users"]
    assert {"as2bus-tls", "as2bus-console-tls"} == tls_secrets(documents(render("prod")))


def test_make_secrets_creates_every_secret_and_key_the_dev_overlay_reads(tmp_path: Path) -> None:
    env = script_env(tmp_path)
    done = run([str(MAKE_SECRETS)], env, ROOT)
    assert done.returncode == 0, done.stderr
    created = created_secrets(env)
    assert missing(created, documents(render("dev"))) == []
    nats = created["as2bus-nats-users"]
    for svc in SERVICES:  # each service's URL carries its own NATS user's password
        assert f"nats://{svc}:{nats[svc]}@nats:4222" == created[f"as2bus-{svc}"]["nats-url"]


def test_make_secrets_can_run_again_and_keeps_every_value(tmp_path: Path) -> None:
    env = script_env(tmp_path)
    assert run([str(MAKE_SECRETS)], env, ROOT).returncode == 0
    first = created_secrets(env)
    Path(env["FAKE_KUBECTL_STORE"], "as2bus-outbound-svc.json").unlink()  # lost, say
    again = run([str(MAKE_SECRETS)], env, ROOT)
    assert again.returncode == 0, again.stderr
    assert created_secrets(env) == first  # made again from the NATS and PostgreSQL passwords kept
    assert "kept as2bus-common" in again.stdout


def test_make_secrets_finds_uv_where_make_sync_installs_it(tmp_path: Path) -> None:
    """`make` installs uv into .tools/bin when there is none on PATH."""
    checkout = tmp_path / "checkout"
    script = checkout / MAKE_SECRETS.relative_to(ROOT)
    script.parent.mkdir(parents=True)
    shutil.copy2(MAKE_SECRETS, script)
    env = script_env(tmp_path, with_uv_on_path=False)
    nowhere = run([str(script)], env, checkout)
    assert nowhere.returncode != 0
    assert "run 'make sync' first" in nowhere.stderr
    fake_uv(checkout / ".tools" / "bin" / "uv")
    done = run([str(script)], env, checkout)
    assert done.returncode == 0, done.stderr
    assert created_secrets(env)["as2bus-common"] == {"AS2BUS_MASTER_KEY": "bWFzdGVy"}
