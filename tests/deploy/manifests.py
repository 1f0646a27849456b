"""Rendering the Kustomize overlays and the invariants every rendered manifest must hold."""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
PROBES = ("livenessProbe", "readinessProbe")
SERVICES = [
    "config-svc",
    "cert-svc",
    "inbound-svc",
    "outbound-svc",
    "tracklog-svc",
    "console-svc",
    "notify-svc",
]
#: What may be reached from outside the cluster: the AS2 endpoint, and the console on its host.
EXPOSED = {("inbound-svc", "/as2"), ("console-svc", "/")}
#: What a committed value must not look like: a base64 master key, a long hex or token string.
#: What a secret looks like: 32 bytes in base64, a hex digest, a url-safe token (with a digit and a
#: capital, which a long metric or resource name such as as2bus_inbound_..._total has not).
SECRET_SHAPES = re.compile(
    r"[A-Za-z0-9+/]{43}=|[0-9a-f]{40,}|(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{40,}"
)


@functools.cache
def renderer() -> tuple[str, ...]:
    """The command that renders a Kustomize directory: scripts/ensure-kustomize.sh finds or
    installs one, or fails saying why (a failure, not a skip: the manifests would go unchecked)."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "ensure-kustomize.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"no Kustomize renderer: {done.stderr}")
    return tuple(shlex.split(done.stdout))


@functools.cache
def render(overlay: str) -> str:
    done = subprocess.run(
        [*renderer(), str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kustomize failed for {overlay}: {done.stderr}")
    return done.stdout


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
        spec: dict[str, Any] = doc["spec"]["template"]["spec"]
        return spec
    return None


def _container_violations(where: str, pod: dict[str, Any], c: dict[str, Any]) -> list[str]:
    found = []
    ctx = {**pod.get("securityContext", {}), **c.get("securityContext", {})}
    if not ctx.get("runAsNonRoot") or ctx.get("runAsUser", 0) == 0:
        found.append(f"{where}: not forced to run as a non-root user")
    if not ctx.get("readOnlyRootFilesystem"):
        found.append(f"{where}: root filesystem is writable")
    if ctx.get("allowPrivilegeEscalation") is not False:
        found.append(f"{where}: privilege escalation not disabled")
    if "ALL" not in ctx.get("capabilities", {}).get("drop", []):
        found.append(f"{where}: capabilities not dropped")
    if ctx.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        found.append(f"{where}: no RuntimeDefault seccomp profile")
    resources = c.get("resources", {})
    for kind in ("requests", "limits"):
        if not {"cpu", "memory"} <= set(resources.get(kind, {})):
            found.append(f"{where}: no cpu and memory {kind}")
    for env in c.get("env", []):
        if "value" in env and SECRET_SHAPES.search(str(env["value"])):
            found.append(f"{where}: env {env['name']} holds what looks like a secret")
    return found


def violations(docs: list[dict[str, Any]]) -> list[str]:
    """Every broken invariant of a rendered overlay, as a sentence; [] when all hold."""
    found: list[str] = []
    kinds: dict[str, set[str]] = {}
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        kinds.setdefault(kind, set()).add(name)
        pod = _pod_spec(doc)
        for c in (pod or {}).get("containers", []):
            where = f"{kind}/{name} container {c['name']}"
            found += _container_violations(where, pod or {}, c)
            if kind != "Job" and not ("livenessProbe" in c and "readinessProbe" in c):
                found.append(f"{where}: needs liveness and readiness probes")
            elif kind == "Deployment":  # ours: the real health routes (shared/web.py)
                probes = [c[p].get("httpGet", {}).get("path") for p in PROBES]
                if probes != ["/healthz", "/readyz"]:
                    found.append(f"{where}: probes are not /healthz, /readyz")
        if kind == "Secret" and (doc.get("data") or doc.get("stringData")):
            found.append(f"Secret/{name}: secret values committed in the repository")
        if kind == "ConfigMap":
            data = doc.get("data", {})
            if data.get("AS2BUS_AUTO_MIGRATE", "false") != "false":
                found.append(f"ConfigMap/{name}: services would migrate (races); Jobs do it")
            for key, value in data.items():
                if key.startswith("AS2BUS_") and SECRET_SHAPES.search(value):
                    found.append(f"ConfigMap/{name}: {key} looks like a secret")
        if kind == "Ingress":
            for rule in doc["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    target = path["backend"]["service"]["name"]
                    if (target, path["path"]) not in EXPOSED:
                        found.append(f"Ingress/{name}: exposes {target} {path['path']}")
            if not doc["spec"].get("tls"):
                found.append(f"Ingress/{name}: no TLS")
    for svc in SERVICES:
        for kind, wanted in (("Deployment", svc), ("Service", svc),
                             ("PodDisruptionBudget", svc), ("Job", f"{svc}-migrate")):  # fmt: skip
            if wanted not in kinds.get(kind, set()):
                found.append(f"{kind}/{wanted} is missing")
    for svc in ("inbound-svc", "outbound-svc"):
        if svc not in kinds.get("HorizontalPodAutoscaler", set()):
            found.append(f"HorizontalPodAutoscaler/{svc} is missing")
    if "default-deny-ingress" not in kinds.get("NetworkPolicy", set()):
        found.append("NetworkPolicy/default-deny-ingress is missing")
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    for svc in SERVICES:
        labels = {"app.kubernetes.io/name": svc, "app.kubernetes.io/part-of": "as2bus"}
        allowing = [p for p in policies if p["spec"].get("ingress") and _selects(p, labels)]
        if not allowing:
            found.append(f"no NetworkPolicy lets anything reach {svc}")
    if kinds.get("Ingress", set()) - {"as2", "console"}:
        found.append("only the Ingresses of the AS2 endpoint and of the console expected")
    return found


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        if expr["operator"] != "In" or labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def dockerfile_violations(text: str, package: str) -> list[str]:
    """What a service Dockerfile must be: multi-stage, locked, no dev dependencies, uv only in
    the build stage, a slim Python at run time as a numeric non-root user."""
    found = []
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    if len(stages) < 2:
        found.append("not multi-stage")
    if not stages or not stages[-1].startswith("FROM python:3.11-slim"):
        found.append("runtime is not python:3.11-slim")
    uv_tags = re.findall(r"ghcr\.io/astral-sh/uv:(\S+)", text)
    if not uv_tags or not all(re.fullmatch(r"\d+\.\d+\.\d+", tag) for tag in uv_tags):
        found.append("uv image not pinned to a version")
    syncs = [line for line in text.splitlines() if "uv sync" in line]
    if not syncs or any("--frozen" not in s or "--no-dev" not in s for s in syncs):
        found.append("uv sync without --frozen --no-dev")
    if not any(f"--package {package}" in s and "--no-editable" in s for s in syncs):
        found.append(f"does not install {package} non-editable")
    runtime = text.rsplit(stages[-1], 1)[1] if stages else text
    if re.search(r"\buv\b|astral-sh", runtime):
        found.append("uv in the runtime stage")
    if re.search(r"apt-get install|gcc|build-essential", runtime):
        found.append("build tools in the runtime stage")
    users = re.findall(r"^USER (\S+)", runtime, re.MULTILINE)
    if not users or not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]):
        found.append("last USER is not a numeric non-root user")
    return found


def nats_conf(docs: list[dict[str, Any]]) -> str:
    (config,) = [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("nats")
    ]
    conf: str = config["data"]["nats.conf"]
    return conf
