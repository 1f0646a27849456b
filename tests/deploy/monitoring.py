"""deploy/monitoring and the Kustomize component of deploy/k8s/components/monitoring: the
PrometheusRule made from the plain rules file, the metric names the rules and the dashboard
use, and the names the services export.

``python -m tests.deploy.monitoring`` (from the repository root) writes the PrometheusRule
from deploy/monitoring/as2bus.rules.yaml after a change to the rules."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

from .manifests import ROOT

MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "as2bus.rules.yaml"
RULE_TESTS = MONITORING / "tests" / "as2bus.rules.test.yaml"
DASHBOARD = MONITORING / "as2bus-dashboard.json"
COMPONENT = ROOT / "deploy" / "k8s" / "components" / "monitoring"
PROMETHEUS_RULE = COMPONENT / "prometheusrule.yaml"

#: Where the services' and the chassis' code lives (each ``src`` holds ``as2bus/...``).
SOURCES = (*sorted((ROOT / "services").glob("*/src")), ROOT / "shared" / "src")
_DEFINES_METRICS = re.compile(r"^\w+ = (Counter|Gauge|Histogram|Summary)\(", re.MULTILINE)


def metrics_modules() -> list[str]:
    """Every module of the services and the chassis that defines a Prometheus metric."""
    found = []
    for src in SOURCES:
        for path in sorted(src.rglob("*.py")):
            text = path.read_text()
            if "prometheus_client" in text and _DEFINES_METRICS.search(text):
                found.append(".".join(path.relative_to(src).with_suffix("").parts))
    return found


#: Metrics that come from elsewhere: Prometheus itself (a target's ``up``) and
#: kube-state-metrics (a Deployment's replicas not ready).
EXTERNAL = frozenset(
    {"up", "kube_deployment_spec_replicas", "kube_deployment_status_replicas_ready"}
)

_HEADER = """\
# Generated from deploy/monitoring/as2bus.rules.yaml by `python -m tests.deploy.monitoring`:
# edit that file, then run this. tests/deploy/test_monitoring.py fails when they differ.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: as2bus
  labels: {app.kubernetes.io/part-of: as2bus}
spec:
"""


def prometheus_rule() -> str:
    """The PrometheusRule manifest: the rules file's groups (its comments left out) as spec."""
    lines = RULES.read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("groups:"))
    body = "".join(f"  {line}\n" if line else "\n" for line in lines[start:])
    return _HEADER + body


def exported_metrics() -> set[str]:
    """The sample names the services can export: every metric of their metrics modules, with
    the suffixes prometheus_client adds (_total, _bucket, _sum, _count, _created), and the
    process and Python collectors of the default registry (process resources)."""
    for module in metrics_modules():
        importlib.import_module(module)
    names: set[str] = set()
    for metric in REGISTRY.collect():
        names.add(metric.name)
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("_sum", "_count", "_created"),
        }.get(metric.type, ())
        names.update(metric.name + suffix for suffix in suffixes)
        names.update(sample.name for sample in metric.samples)
    return names


#: A metric name in PromQL: an identifier not followed by ``(`` (a function) and not a
#: keyword, label name (inside braces) or duration.
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_KEYWORDS = frozenset(
    [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "inf",
        "nan",
    ]
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACES = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPINGS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def metric_names(expr: str) -> set[str]:
    """The metric (and recording rule) names a PromQL expression reads."""
    text = _STRINGS.sub('""', expr)
    text = _BRACES.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPINGS.sub(" ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables: $__rate_interval, ${partner}
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name, rest = match.group(0), text[match.end() :].lstrip()
        if name in _KEYWORDS or rest.startswith("("):
            continue
        if re.fullmatch(r"\d+[smhdwy]?", name):
            continue
        names.add(name)
    return names


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["groups"]
    return groups


def rule_expressions() -> Iterator[tuple[str, str]]:
    """(rule name, expression) of every recording and alerting rule."""
    for group in rule_groups():
        for rule in group["rules"]:
            yield rule.get("alert") or rule["record"], rule["expr"]


def recorded() -> set[str]:
    return {r["record"] for g in rule_groups() for r in g["rules"] if "record" in r}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    """(where, PromQL) of every query of the dashboard: its panels' targets and its
    variables' queries."""
    board = dashboard()
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r}", target["expr"]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", text)
            yield f"variable {variable['name']!r}", inner.group(1) if inner else text


def promtool() -> str | None:
    """AS2BUS_PROMTOOL, or promtool on PATH (scripts/ensure-promtool.sh takes the same)."""
    return os.environ.get("AS2BUS_PROMTOOL") or shutil.which("promtool")


if __name__ == "__main__":
    PROMETHEUS_RULE.write_text(prometheus_rule())
    print(f"wrote {Path(PROMETHEUS_RULE).relative_to(ROOT)}")
