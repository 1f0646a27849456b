"""The rendered overlays against what the services need at run time: the traffic their
NetworkPolicies must let through (cert-manager's challenge, the console's calls, a tracing
collector), the disk, memory and database connections their settings can use at the worst,
and replica counts that an apply does not fight over with the HPAs."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from as2bus.outbound.settings import OutboundSettings
from as2bus.shared.settings import ServiceSettings

from .manifests import K8S, OVERLAYS, ROOT, SERVICES, documents, render, renderer, violations

MiB = 1024 * 1024
#: What a replica's pool may add in a burst: SQLAlchemy's max_overflow, which shared/db.py keeps.
POOL_OVERFLOW = 10
#: The connections of a server the shipped manifests must fit, and what is kept aside from them
#: (the migration Jobs, an operator's psql, the superuser's reserved slots): docs/deploy.md.
MAX_CONNECTIONS, SPARE_CONNECTIONS = 400, 30
#: A document built in memory takes about 8x its size at the peak (docs/configuration.md), and
#: a process streaming its other sends needs about this much beside it.
IN_MEMORY_FACTOR, PROCESS_BYTES = 8, 256 * MiB
#: The message as sent is at most this much larger than its document (base64 transfer encoding).
AS_SENT_FACTOR = 1.4


def _of(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _pod_labels(doc: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = doc["spec"]["template"]["metadata"]["labels"]
    return labels


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In", expr  # the only operator the policies use
        if labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def _port_open(rule: dict[str, Any], port: int) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("port") == port for p in ports)


def _peer_admits(peers: list[dict[str, Any]] | None, namespace: str, labels: dict[str, str],
                 own_namespace: str) -> bool:  # fmt: skip
    """Whether a rule's from/to list admits a pod with ``labels`` in ``namespace``
    (labels ``{}`` and namespace ``"outside"``: an address outside the cluster)."""
    if not peers:
        return True
    for peer in peers:
        if "ipBlock" in peer:
            return True
        ns_selector, pod_selector = peer.get("namespaceSelector"), peer.get("podSelector")
        if ns_selector is None:
            in_namespace = namespace == own_namespace
        else:
            in_namespace = namespace != "outside" and _matches(
                ns_selector, {"kubernetes.io/metadata.name": namespace}
            )
        if in_namespace and (pod_selector is None or _matches(pod_selector, labels)):
            return True
    return False


def _policies(docs: list[dict[str, Any]], direction: str, labels: dict[str, str]) -> list[Any]:
    return [
        d
        for d in docs
        if d["kind"] == "NetworkPolicy"
        and direction in d["spec"]["policyTypes"]
        and _matches(d["spec"]["podSelector"], labels)
    ]


def admits(docs: list[dict[str, Any]], to_labels: dict[str, str], port: int, *,
           from_namespace: str, from_labels: dict[str, str]) -> bool:  # fmt: skip
    """Whether the ingress policies of the namespace let a pod reach ``to_labels`` on ``port``."""
    selecting = _policies(docs, "Ingress", to_labels)
    own = docs[0]["metadata"].get("namespace", "")
    return not selecting or any(
        _port_open(rule, port) and _peer_admits(rule.get("from"), from_namespace, from_labels, own)
        for policy in selecting
        for rule in policy["spec"].get("ingress", [])
    )


def egress_allows(docs: list[dict[str, Any]], from_labels: dict[str, str], port: int, *,
                  to_labels: dict[str, str], to_namespace: str) -> bool:  # fmt: skip
    selecting = _policies(docs, "Egress", from_labels)
    own = docs[0]["metadata"].get("namespace", "")
    return not selecting or any(
        _port_open(rule, port) and _peer_admits(rule.get("to"), to_namespace, to_labels, own)
        for policy in selecting
        for rule in policy["spec"].get("egress", [])
    )


@pytest.fixture(scope="module", params=OVERLAYS)
def docs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return documents(render(request.param))


def _namespace(docs: list[dict[str, Any]]) -> str:
    namespace: str = _of(docs, "Deployment", "config-svc")["metadata"]["namespace"]
    return namespace


def test_cert_managers_http01_solver_is_reachable_from_the_ingress_controller(
    docs: list[dict[str, Any]],
) -> None:
    solver = {"acme.cert-manager.io/http01-solver": "true", "acme.cert-manager.io/http-token": "x"}
    assert admits(docs, solver, 8089, from_namespace="ingress-nginx", from_labels={})
    assert not admits(docs, solver, 8089, from_namespace="elsewhere", from_labels={})
    config = _pod_labels(_of(docs, "Deployment", "config-svc"))  # the checker can say no
    assert not admits(docs, config, 8080, from_namespace="ingress-nginx", from_labels={})


def test_the_console_reaches_every_service_it_calls(docs: list[dict[str, Any]]) -> None:
    console = _of(docs, "Deployment", "console-svc")
    (container,) = console["spec"]["template"]["spec"]["containers"]
    urls = [
        e["value"] for e in container["env"] if re.fullmatch(r"AS2BUS_CONSOLE_\w+_URL", e["name"])
    ]
    called = {re.fullmatch(r"http://([a-z-]+):8080", url).group(1) for url in urls}  # type: ignore[union-attr]
    assert called == {"config-svc", "cert-svc", "tracklog-svc", "outbound-svc", "notify-svc"}
    namespace, labels = _namespace(docs), _pod_labels(console)
    for svc in called:
        target = _pod_labels(_of(docs, "Deployment", svc))
        assert egress_allows(docs, labels, 8080, to_labels=target, to_namespace=namespace), svc
        assert admits(docs, target, 8080, from_namespace=namespace, from_labels=labels), svc
    inbound = _pod_labels(_of(docs, "Deployment", "inbound-svc"))  # not called: not allowed
    assert not egress_allows(docs, labels, 8080, to_labels=inbound, to_namespace=namespace)


def _with_component(tmp_path: Path, component: str) -> list[dict[str, Any]]:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    prod = os.path.relpath(K8S / "overlays" / "prod", overlay)
    path = os.path.relpath(K8S / "components" / component, overlay)
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: as2bus\n"
        f"resources: [{prod}]\ncomponents: [{path}]\n"
    )
    done = subprocess.run([*renderer(), str(overlay)], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return documents(done.stdout)


def test_with_the_tracing_component_every_service_reaches_an_otlp_collector(
    tmp_path: Path,
) -> None:
    def reaching(docs: list[dict[str, Any]]) -> set[str]:
        collector = {"app.kubernetes.io/name": "otel-collector"}
        return {
            svc
            for svc in SERVICES
            if egress_allows(
                docs,
                _pod_labels(_of(docs, "Deployment", svc)),
                4318,
                to_labels=collector,
                to_namespace="observability",
            )
        }

    assert reaching(documents(render("prod"))) == {"inbound-svc", "outbound-svc", "notify-svc"}
    traced = _with_component(tmp_path, "tracing")
    assert reaching(traced) == set(SERVICES)
    assert violations(traced) == []
    # It adds egress and nothing else: what a service could reach before it still reaches.
    outbound = _pod_labels(_of(traced, "Deployment", "outbound-svc"))
    assert egress_allows(traced, outbound, 443, to_labels={}, to_namespace="outside")
    config = _pod_labels(_of(traced, "Deployment", "config-svc"))
    assert not egress_allows(traced, config, 443, to_labels={}, to_namespace="outside")


def test_no_deployment_an_hpa_scales_sets_its_replicas(docs: list[dict[str, Any]]) -> None:
    """`kubectl apply` would otherwise set them back to that count, under load or not."""
    hpas = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas} == {"inbound-svc", "outbound-svc"}
    for hpa in hpas:
        target = _of(docs, "Deployment", hpa["spec"]["scaleTargetRef"]["name"])
        assert "replicas" not in target["spec"], target["metadata"]["name"]


@pytest.mark.parametrize("service", ["tracklog-svc", "notify-svc"])
def test_single_replica_services_never_run_twice_during_a_rollout(
    docs: list[dict[str, Any]], service: str
) -> None:
    spec = _of(docs, "Deployment", service)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def _bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": MiB, "Gi": 1024 * MiB}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity.removesuffix(suffix)) * factor)
    return int(quantity)


def _environment(docs: list[dict[str, Any]], name: str) -> dict[str, str]:
    """The variables a Deployment's container gets: the settings ConfigMap, then its own env."""
    (container,) = _of(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(_of(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def _outbound(docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> OutboundSettings:
    for key, value in _environment(docs, "outbound-svc").items():
        monkeypatch.setenv(key, value)
    return OutboundSettings()


def test_outbound_tmp_holds_every_send_in_progress(
    docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _outbound(docs, monkeypatch)
    pod = _of(docs, "Deployment", "outbound-svc")["spec"]["template"]["spec"]
    (tmp,) = [v for v in pod["volumes"] if v["name"] == "tmp"]
    copies = settings.workers * settings.max_document_bytes * AS_SENT_FACTOR
    worst = copies * settings.keep_sent_messages + settings.recycled_file_bytes
    assert worst <= _bytes(tmp["emptyDir"]["sizeLimit"])


def test_outbound_builds_in_memory_within_its_memory_limit(
    docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _outbound(docs, monkeypatch)
    (container,) = _of(docs, "Deployment", "outbound-svc")["spec"]["template"]["spec"]["containers"]
    limit = _bytes(container["resources"]["limits"]["memory"])
    built = settings.workers * IN_MEMORY_FACTOR * settings.max_in_memory_bytes
    assert built + PROCESS_BYTES <= limit


def connections(docs: list[dict[str, Any]]) -> dict[str, int]:
    """The most PostgreSQL connections each service's pods may hold together: every pod's pool
    full and its burst taken, at the HPA's maximum, a rollout's extra pod included."""
    maxima = {d["spec"]["scaleTargetRef"]["name"]: d["spec"]["maxReplicas"]
              for d in docs if d["kind"] == "HorizontalPodAutoscaler"}  # fmt: skip
    found = {}
    for svc in SERVICES:
        spec = _of(docs, "Deployment", svc)["spec"]
        pool = int(
            _environment(docs, svc).get("AS2BUS_DB_POOL_SIZE", ServiceSettings().db_pool_size)
        )
        pods = maxima.get(svc, spec.get("replicas", 1))
        if spec["strategy"]["type"] == "RollingUpdate":
            pods += spec["strategy"]["rollingUpdate"]["maxSurge"]
        found[svc] = pods * (pool + POOL_OVERFLOW)
    return found


def test_prod_database_connections_fit_the_documented_max_connections() -> None:
    total = sum(connections(documents(render("prod"))).values())
    assert total <= MAX_CONNECTIONS - SPARE_CONNECTIONS
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    assert f"| **total** | | | | **{total}** |" in deploy  # the docs' table adds up the same
    example = yaml.safe_load_all(
        (K8S / "overlays" / "prod" / "cloudnativepg.example.yaml").read_text()
    )
    (cluster,) = [d for d in example if d and d["kind"] == "Cluster"]
    assert int(cluster["spec"]["postgresql"]["parameters"]["max_connections"]) == MAX_CONNECTIONS


def test_dev_database_connections_fit_the_dev_postgresql() -> None:
    docs = documents(render("dev"))
    (container,) = _of(docs, "StatefulSet", "postgres")["spec"]["template"]["spec"]["containers"]
    args = " ".join(container.get("args", []))
    found = re.search(r"max_connections=(\d+)", args)
    max_connections = int(found.group(1)) if found else 100  # PostgreSQL's default
    jobs = len([d for d in docs if d["kind"] == "Job"])
    assert sum(connections(docs).values()) + jobs <= max_connections


@pytest.mark.parametrize("service", ["console-svc", "inbound-svc"])
def test_services_behind_the_ingress_believe_its_forwarded_for(
    docs: list[dict[str, Any]], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without it every client had the ingress pod's address: five wrong passwords from
    anyone locked an operator out of the console for everyone."""
    for key, value in _environment(docs, service).items():
        monkeypatch.setenv(key, value)
    trusted = [ipaddress.ip_network(n) for n in ServiceSettings().forwarded_allow_ips]
    for pod in ("10.244.1.7", "172.20.3.4", "192.168.5.6", "100.64.0.9"):  # kind, EKS, ...
        assert any(ipaddress.ip_address(pod) in network for network in trusted), pod
    assert not any(ipaddress.ip_address("203.0.113.9") in network for network in trusted)
