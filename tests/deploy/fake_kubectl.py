"""A stand-in for kubectl that keeps Secrets in a directory, for running the scripts that make
them (make-secrets.sh, docs/deploy.md's) without a cluster. It understands what they use:
``create secret generic NAME`` with ``--from-literal``, ``--from-file`` and ``--from-env-file``
(refused, as kubectl does, when the Secret exists), ``get secret NAME`` (with
``-o jsonpath={.data.KEY}``), and accepts anything else (``create namespace``, ``apply``)."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

STORE = Path(os.environ["FAKE_KUBECTL_STORE"])


def _words(argv: list[str]) -> list[str]:
    """The arguments without ``-n NS`` / ``--namespace=NS`` (one namespace here)."""
    words, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in ("-n", "--namespace"):
            skip = True
        elif not word.startswith("--namespace="):
            words.append(word)
    return words


def _data(options: list[str]) -> dict[str, str]:
    data: dict[str, str] = {}
    for option in options:
        flag, _, value = option.partition("=")
        if flag == "--from-literal":
            key, _, literal = value.partition("=")
            data[key] = literal
        elif flag == "--from-file":
            key, _, path = value.partition("=")
            data[key] = Path(path).read_text()
        elif flag == "--from-env-file":
            for line in Path(value).read_text().splitlines():
                if line.strip() and not line.startswith("#"):
                    key, _, env_value = line.partition("=")
                    data[key] = env_value
    return data


def main(argv: list[str]) -> int:
    if not sys.stdin.isatty():
        sys.stdin.read()  # `... | kubectl apply -f -`
    words = _words(argv)
    if words[:3] == ["create", "secret", "generic"]:
        path = STORE / f"{words[3]}.json"
        if path.exists():
            print(f'Error from server (AlreadyExists): secrets "{words[3]}" already exists',
                  file=sys.stderr)  # fmt: skip
            return 1
        path.write_text(json.dumps(_data(words[4:])))
        return 0
    if words[:2] == ["get", "secret"]:
        path = STORE / f"{words[2]}.json"
        if not path.exists():
            print(f'Error from server (NotFound): secrets "{words[2]}" not found', file=sys.stderr)
            return 1
        for word in words[3:]:
            if word.startswith("jsonpath={.data.") and word.endswith("}"):
                key = word.removeprefix("jsonpath={.data.").removesuffix("}")
                value = json.loads(path.read_text()).get(key, "")
                print(base64.b64encode(value.encode()).decode(), end="")
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
