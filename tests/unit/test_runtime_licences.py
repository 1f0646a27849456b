"""What the images install carries no GPL-family licence (as2bus is Apache-2.0).

Each service image runs ``uv sync --no-dev --package <service>``: the service's distribution
and everything its requirements pull in, with the extras they name. The same closure is walked
here from the installed distributions' metadata (``Requires-Dist`` with its markers), and each
distribution's licence is read from its metadata: ``License-Expression``, ``License`` and the
``License ::`` classifiers. Development tools (pytest, pyas2lib as the reference peer) are not
in any image and not checked.
"""

from __future__ import annotations

import re
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

IMAGES = (
    "as2bus-config",
    "as2bus-cert",
    "as2bus-inbound",
    "as2bus-outbound",
    "as2bus-tracklog",
    "as2bus-console",
)
_GPL = re.compile(r"\b(A|L)?GPL|General Public License", re.IGNORECASE)
#: Never in an image, whatever their licence says: the codec no longer needs them.
BANNED = {"pyas2lib", "oscrypto"}


def runtime_closure(root: str) -> set[str]:
    """Canonical names of ``root`` and of every distribution it needs at run time."""
    seen: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in seen and not extras:
            continue
        seen.add(key)
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                todo.append((req.name, frozenset(req.extras)))
    return seen


def licence_of(name: str) -> str:
    meta = metadata.metadata(name)
    parts = [meta[field] for field in ("License-Expression", "License") if field in meta]
    parts += [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return " | ".join(p.strip() for p in parts if p and p.strip())


@pytest.mark.parametrize("image", IMAGES)
def test_an_image_installs_nothing_gpl_licensed(image: str) -> None:
    closure = runtime_closure(image)
    assert "as2bus-as2" in closure  # the walk does reach the codec
    assert not closure & BANNED, f"{image} would install {sorted(closure & BANNED)}"
    gpl = {name: licence_of(name) for name in sorted(closure) if _GPL.search(licence_of(name))}
    assert gpl == {}, f"{image} would install GPL-family licensed distributions: {gpl}"


def test_every_distribution_in_an_image_states_a_licence() -> None:
    """A distribution without a licence in its metadata could hide one: each must say."""
    closure = set().union(*(runtime_closure(image) for image in IMAGES))
    unstated = sorted(name for name in closure if not licence_of(name))
    assert unstated == []


def test_our_own_distributions_are_apache_2() -> None:
    ours = {n for n in set().union(*(runtime_closure(i) for i in IMAGES)) if n.startswith("as2bus")}
    assert {licence_of(name) for name in ours} == {"Apache-2.0"}


def test_the_check_sees_a_gpl_distribution_where_there_is_one() -> None:
    """pyas2lib (a development dependency, the reference peer) is GPL-3: the check must say so."""
    assert _GPL.search(licence_of("pyas2lib"))
    assert "oscrypto" in runtime_closure("pyas2lib")
