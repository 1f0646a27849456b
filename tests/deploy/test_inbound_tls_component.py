"""deploy/k8s/components/inbound-tls: inbound-svc terminating TLS itself, side by side with the
default (the Ingress terminates it). Rendered with the prod overlay as an installation adds it:
strictly valid, the invariants of every overlay still hold, and exactly the TLS parts change:
the Secret mounted read-only where the settings point, HTTPS probes, the Service's protocol,
the Ingress passing TLS through."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

from .manifests import K8S, ROOT, documents, render, renderer, violations

KUBERNETES_VERSION = "1.33"
COMPONENT = K8S / "components" / "inbound-tls"


@pytest.fixture(scope="module")
def with_tls(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    overlay = tmp_path_factory.mktemp("overlay")
    prod = os.path.relpath(K8S / "overlays" / "prod", overlay)
    component = os.path.relpath(COMPONENT, overlay)
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: as2bus\n"
        f"resources: [{prod}]\ncomponents: [{component}]\n"
    )
    done = subprocess.run(
        [*renderer(), str(overlay)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return documents(done.stdout)


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def inbound_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod = find(docs, "Deployment", "inbound-svc")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return {**container, "_volumes": pod["volumes"]}


def test_the_component_is_clean_yaml() -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    problems = [
        f"{path.name}:{p.line}: {p.message}"
        for path in sorted(COMPONENT.glob("*.yaml"))
        for p in linter.run(path.read_text(), config)
    ]
    assert problems == []


def test_with_the_component_every_document_is_valid_and_the_invariants_hold(
    with_tls: list[dict[str, Any]],
) -> None:
    for doc in with_tls:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert violations(with_tls) == []


def test_inbound_svc_reads_the_mounted_secret_and_is_probed_over_https(
    with_tls: list[dict[str, Any]],
) -> None:
    container = inbound_container(with_tls)
    env = {e["name"]: e.get("value") for e in container["env"]}
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "tls"]
    assert mount["readOnly"] is True
    (volume,) = [v for v in container["_volumes"] if v["name"] == "tls"]
    secret = volume["secret"]
    assert secret["secretName"] == find(with_tls, "Ingress", "as2")["spec"]["tls"][0]["secretName"]
    assert secret["defaultMode"] == 0o440
    # kubernetes.io/tls Secrets hold tls.crt and tls.key: the settings name those files.
    assert env["AS2BUS_INBOUND_TLS_CERT_FILE"] == str(Path(mount["mountPath"]) / "tls.crt")
    assert env["AS2BUS_INBOUND_TLS_KEY_FILE"] == str(Path(mount["mountPath"]) / "tls.key")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS", probe
    (port,) = find(with_tls, "Service", "inbound-svc")["spec"]["ports"]
    assert (port["name"], port["appProtocol"]) == ("http", "https")
    annotations = find(with_tls, "Ingress", "as2")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/ssl-passthrough"] == "true"


def test_nothing_else_changes_and_without_it_the_ingress_terminates_tls(
    with_tls: list[dict[str, Any]],
) -> None:
    plain = documents(render("prod"))
    changed = {(d["kind"], d["metadata"]["name"]) for d in with_tls if d not in plain}
    assert changed == {
        ("Deployment", "inbound-svc"),
        ("Service", "inbound-svc"),
        ("Ingress", "as2"),
    }
    container = inbound_container(plain)
    assert not any(e["name"].startswith("AS2BUS_INBOUND_TLS_") for e in container["env"])
    assert "scheme" not in container["readinessProbe"]["httpGet"]
    assert (
        "nginx.ingress.kubernetes.io/ssl-passthrough"
        not in (find(plain, "Ingress", "as2")["metadata"]["annotations"])
    )
