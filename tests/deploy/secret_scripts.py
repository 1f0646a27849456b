"""Running the scripts that create Secrets (make-secrets.sh, docs/deploy.md's) against a
stand-in kubectl (fake_kubectl.py), and comparing what they create with what a rendered overlay
reads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .manifests import K8S

MAKE_SECRETS = K8S / "overlays" / "dev" / "make-secrets.sh"
#: A mounted Secret's keys are the files the service reads: AS2BUS_API_TOKENS_DIR, one per scope.
MOUNTED_KEYS = {"as2bus-api-token-hashes": {"read", "operate", "admin"}}
SYSTEM_TOOLS = (
    "bash",
    "sh",
    "env",
    "dirname",
    "openssl",
    "sha256sum",
    "base64",
    "cut",
    "grep",
    "cat",
)
KEYGEN = 'AS2BUS_MASTER_KEY=bWFzdGVy\nAS2BUS_API_TOKENS={"admin":["t"]}\n'


def referenced(docs: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Every Secret a pod of the rendered overlay reads, with the keys it reads."""
    found: dict[str, set[str]] = {}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    found.setdefault(ref["name"], set()).add(ref["key"])
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                name = volume["secret"]["secretName"]
                found.setdefault(name, set()).update(MOUNTED_KEYS.get(name, set()))
    return found


def tls_secrets(docs: list[dict[str, Any]]) -> set[str]:
    """The Ingresses' certificates: cert-manager writes them, nobody creates them by hand."""
    return {t["secretName"] for d in docs if d["kind"] == "Ingress" for t in d["spec"]["tls"]}


def script_env(tmp_path: Path, with_uv_on_path: bool = True) -> dict[str, str]:
    """A PATH with the stand-in kubectl (and a uv that only knows `as2bus keygen`), the
    system's tools and no real uv or kubectl."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(
        f'#!/bin/sh\nexec {sys.executable} {Path(__file__).parent / "fake_kubectl.py"} "$@"\n'
    )
    kubectl.chmod(0o755)
    if with_uv_on_path:
        fake_uv(bin_dir / "uv")
    system = tmp_path / "system"  # the machine's tools the scripts use, and nothing else
    system.mkdir(exist_ok=True)
    for tool in SYSTEM_TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run the scripts"
        if not (system / tool).exists():
            (system / tool).symlink_to(found)
    store = tmp_path / "secrets"
    store.mkdir(exist_ok=True)
    return {"PATH": f"{bin_dir}:{system}", "FAKE_KUBECTL_STORE": str(store), "HOME": str(tmp_path)}


def fake_uv(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '#!/bin/sh\nfor a in "$@"; do [ "$a" = keygen ] && printf %s \''
        + KEYGEN
        + "' && exit 0; done\n"
        'echo "fake uv: only as2bus keygen" >&2; exit 1\n'
    )
    path.chmod(0o755)


def created_secrets(env: dict[str, str]) -> dict[str, dict[str, str]]:
    store = Path(env["FAKE_KUBECTL_STORE"])
    return {p.stem: json.loads(p.read_text()) for p in sorted(store.glob("*.json"))}


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)  # fmt: skip


def missing(created: dict[str, dict[str, str]], docs: list[dict[str, Any]]) -> list[str]:
    """The Secrets and keys the overlay reads that were not created, and keys created in a
    Secret the overlay reads that nothing reads (a secret stored for nothing)."""
    problems = []
    for name, keys in sorted(referenced(docs).items()):
        if name not in created:
            problems.append(f"Secret {name} is not created")
            continue
        problems += [f"{name} has no key {k}" for k in sorted(keys - set(created[name]))]
        problems += [
            f"{name} holds {k}, which nothing reads" for k in sorted(set(created[name]) - keys)
        ]
    return problems
