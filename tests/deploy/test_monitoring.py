"""deploy/monitoring (issue 24): the alert rules unit-tested with promtool, the PrometheusRule
identical to the plain rules file, the dashboard's and the rules' metric names checked
against what the services export, and the Kustomize component with the ServiceMonitor.

promtool is required, not optional: `make promtool` installs it (Debian's `prometheus`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from .manifests import K8S, ROOT, SERVICES, documents, renderer
from .monitoring import (
    COMPONENT,
    EXTERNAL,
    MONITORING,
    PROMETHEUS_RULE,
    RULE_TESTS,
    RULES,
    dashboard,
    dashboard_expressions,
    exported_metrics,
    metric_names,
    metrics_modules,
    prometheus_rule,
    promtool,
    recorded,
    rule_expressions,
    rule_groups,
)

KUBERNETES_VERSION = "1.33"


def _promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    found = promtool()
    if found is None:
        pytest.fail("promtool is not installed: `make promtool` installs it (Debian's prometheus)")
    return subprocess.run(
        [found, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def test_promtool_checks_the_rules_file() -> None:
    done = _promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_passes_its_promtool_unit_tests() -> None:
    done = _promtool("test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def _alerts() -> set[str]:
    return {r["alert"] for g in rule_groups() for r in g["rules"] if "alert" in r}


def test_the_unit_tests_see_each_alert_fire_and_stay_quiet() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    checks = [check for case in cases for check in case.get("alert_rule_test", [])]
    firing = {c["alertname"] for c in checks if c["exp_alerts"]}
    quiet = {c["alertname"] for c in checks if not c["exp_alerts"]}
    assert _alerts() == firing == quiet
    assert len(_alerts()) >= 8


def test_a_wrong_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    shutil.copy(RULE_TESTS, tmp_path / "tests" / RULE_TESTS.name)
    critical = "alias:as2bus_cert_days_left:max < 7"
    broken = RULES.read_text().replace(critical, critical.replace("7", "4"))  # misses 5 days
    assert broken != RULES.read_text()
    (tmp_path / RULES.name).write_text(broken)
    done = _promtool("test", "rules", str(tmp_path / "tests" / RULE_TESTS.name))
    assert done.returncode != 0
    assert "As2busCertificateExpiringCritical" in done.stdout + done.stderr


def test_every_alert_says_what_where_and_how_bad() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    for group in rule_groups():
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            name, notes = rule["alert"], rule["annotations"]
            assert rule["labels"]["severity"] in ("warning", "critical"), name
            assert "for" in rule, name
            assert {"summary", "description", "runbook"} <= set(notes), name
            assert "{{ $labels." in notes["summary"], name  # the partner, alias or service
            assert notes["runbook"] == f"docs/operations.md#{name.lower()}", name
            assert f"### {name}" in operations, name


def test_the_prometheus_rule_is_the_rules_file() -> None:
    """One source of truth: `python -m tests.deploy.monitoring` writes the PrometheusRule."""
    assert PROMETHEUS_RULE.read_text() == prometheus_rule(), (
        "deploy/k8s/components/monitoring/prometheusrule.yaml differs from "
        "deploy/monitoring/as2bus.rules.yaml: run `python -m tests.deploy.monitoring`"
    )
    (manifest,) = documents(PROMETHEUS_RULE.read_text())
    assert manifest["spec"] == yaml.safe_load(RULES.read_text())


def _unknown(expressions: list[tuple[str, str]]) -> dict[str, set[str]]:
    known = exported_metrics() | recorded() | EXTERNAL
    return {where: bad for where, expr in expressions if (bad := metric_names(expr) - known)}


def test_the_rules_read_only_metrics_the_services_export() -> None:
    assert _unknown(list(rule_expressions())) == {}


def test_the_dashboard_reads_only_metrics_the_services_export() -> None:
    expressions = list(dashboard_expressions())
    assert len(expressions) > 20
    assert _unknown(expressions) == {}


def test_the_metrics_modules_of_every_service_are_found() -> None:
    modules = metrics_modules()
    for expected in (
        "as2bus.outbound.metrics",
        "as2bus.inbound.metrics",
        "as2bus.cert.entrypoints.scheduler",
        "as2bus.tracklog.entrypoints.bus",
        "as2bus.shared.outbox",
    ):
        assert expected in modules


def test_the_metric_check_catches_a_name_no_service_exports() -> None:
    names = metric_names('sum by (partner) (rate(as2bus_outbound_sent_total{x="a"}[5m])) > 0')
    assert names == {"as2bus_outbound_sent_total"}
    assert _unknown([("made up", "as2bus_outbound_sent_total")]) == {
        "made up": {"as2bus_outbound_sent_total"}
    }
    exported = exported_metrics()
    assert "as2bus_outbound_time_to_mdn_seconds_bucket" in exported  # histogram suffixes
    assert "as2bus_outbound_attempts_total" in exported  # counter suffix
    assert "process_resident_memory_bytes" in exported  # process resources


def test_the_dashboards_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule (Grafana's variables made concrete)."""
    rules = []
    for n, (_, expr) in enumerate(dashboard_expressions()):
        concrete = expr.replace("$__rate_interval", "5m").replace("$partner", ".*")
        rules.append({"record": f"dashboard:query_{n}", "expr": concrete})
    path = tmp_path / "dashboard.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = _promtool("check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_has_its_variables_and_a_panel_for_each_subject() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["partner"]["includeAll"]
    assert variables["partner"]["multi"]
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    cells = [
        (p["title"], x, y)
        for p in board["panels"]
        for x in range(p["gridPos"]["x"], p["gridPos"]["x"] + p["gridPos"]["w"])
        for y in range(p["gridPos"]["y"], p["gridPos"]["y"] + p["gridPos"]["h"])
    ]
    assert len({(x, y) for _, x, y in cells}) == len(cells), "panels overlap"
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert len(panel["description"]) > 40, panel["title"]
        for target in panel["targets"]:
            if "partner" in target["expr"] and "by (partner" in target["expr"]:
                assert 'partner=~"$partner"' in target["expr"], panel["title"]
    read = {name for _, expr in dashboard_expressions() for name in metric_names(expr)}
    for subject in (
        "as2bus_outbound_delivered_total",  # exchanges by status and partner
        "as2bus_inbound_received_total",
        "as2bus_outbound_time_to_mdn_seconds_bucket",  # time to MDN
        "as2bus_outbound_attempts_total",  # retries
        "as2bus_outbound_backlog_messages",  # backlog
        "as2bus_outbound_limit_waits_total",  # rate-limit waits
        "as2bus_cert_days_left",  # certificate days left
        "as2bus_inbound_rejected_total",  # inbound rejections by reason
        "process_resident_memory_bytes",  # process resources
        "process_cpu_seconds_total",
    ):
        assert subject in read, subject


def test_the_monitoring_files_are_clean_yaml() -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    problems = [
        f"{path.relative_to(ROOT)}:{p.line}: {p.message}"
        for path in [*MONITORING.rglob("*.yaml"), *COMPONENT.glob("*.yaml")]
        for p in linter.run(path.read_text(), config)
    ]
    assert problems == []


@pytest.fixture(scope="module")
def with_monitoring(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The prod overlay with the monitoring component, as an installation would add it (in an
    overlay of its own that sets the namespace, as prod does)."""
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


def _monitoring_kinds(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["apiVersion"].startswith("monitoring.coreos.com/")]


def test_the_base_and_overlays_need_no_prometheus_operator() -> None:
    from .manifests import OVERLAYS, render

    for overlay in OVERLAYS:
        assert _monitoring_kinds(documents(render(overlay))) == [], overlay


def test_the_component_adds_the_service_monitor_and_the_rules(
    with_monitoring: list[dict[str, Any]],
) -> None:
    added = {(d["kind"], d["metadata"]["name"]): d for d in _monitoring_kinds(with_monitoring)}
    assert set(added) == {("ServiceMonitor", "as2bus"), ("PrometheusRule", "as2bus")}
    for doc in added.values():
        assert doc["metadata"]["namespace"] == "as2bus"
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "as2bus"
    assert added[("PrometheusRule", "as2bus")]["spec"] == yaml.safe_load(RULES.read_text())
    for doc in with_monitoring:  # the rest is still strictly valid Kubernetes
        if doc not in added.values():
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    return all(
        expr["operator"] == "In" and labels.get(expr["key"]) in expr["values"]
        for expr in selector.get("matchExpressions", [])
    )


def test_the_service_monitor_scrapes_metrics_of_every_service(
    with_monitoring: list[dict[str, Any]],
) -> None:
    (monitor,) = [d for d in with_monitoring if d["kind"] == "ServiceMonitor"]
    services = [d for d in with_monitoring if d["kind"] == "Service"]
    selected = [
        s for s in services if _selects(monitor["spec"]["selector"], s["metadata"]["labels"])
    ]
    assert sorted(s["metadata"]["name"] for s in selected) == sorted(SERVICES)
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    for service in selected:
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    # ... and the NetworkPolicy lets Prometheus (namespace monitoring) reach that port.
    (policy,) = [d for d in with_monitoring if d["metadata"]["name"] == "metrics-from-monitoring"]
    ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert 8080 in ports
