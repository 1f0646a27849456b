#!/usr/bin/env bash
# mypy (strict, the root pyproject's [tool.mypy]) over the test suites, as `make lint` runs it
# over the runtime packages. A test directory is no installed package (its unit/ and
# integration/ have no __init__.py; pytest imports them with --import-mode=importlib), and
# every workspace member names its own `tests`, so one mypy run each, from the directory that
# holds it: their modules are all `tests.*` and would collide in one run.
#
# The suites: `tests/` of every [tool.uv.workspace] member, and the root's `tests/` with the
# root conftest.py. Usage: scripts/typecheck-tests.sh [DIR...] (DIR: a member, e.g. `as2` or
# `services/console-svc`, or `.` for the root; default: all of them). TYPECHECK_JOBS: how many
# run at once (default: one per CPU). Exits 1 when any suite has an error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mypy="${MYPY:-$root/.venv/bin/mypy}"
python="${PYTHON:-$root/.venv/bin/python}"
parallel="${TYPECHECK_JOBS:-$(nproc 2>/dev/null || echo 2)}"
# One cache per suite, under the root's (gitignored) .mypy_cache/tests/: the suites' modules
# share names (tests.unit.conftest, tests.fakes, ...), so in one cache each run would replace
# the others' entries and check them again every time. A suite without a cache yet starts
# from a copy of another's, which holds the libraries they all import (mypy checks every entry
# against its source before using it), so a cold run analyses those once, not per suite.
cache_root="$root/.mypy_cache/tests"

# mypy_path (relative to the root in pyproject) as absolute paths, then the suites: the
# [tool.uv.workspace] members with a tests/ (globs expanded, in the listed order), the root.
read_config() {
    "$python" - "$root" <<'PY'
import sys
import tomllib
from pathlib import Path

root = Path(sys.argv[1])
config = tomllib.loads((root / "pyproject.toml").read_text())
print(":".join(str(root / p) for p in config["tool"]["mypy"]["mypy_path"]))
for member in config["tool"]["uv"]["workspace"]["members"]:
    for path in sorted(root.glob(member)):
        if (path / "tests").is_dir():
            print(path.relative_to(root))
if (root / "tests").is_dir():
    print(".")
PY
}
mapfile -t config < <(read_config)
if [[ ${#config[@]} -lt 2 ]]; then
    echo "typecheck-tests: no mypy_path or no test suite found in $root/pyproject.toml" >&2
    exit 2
fi
export MYPYPATH="${config[0]}"
if [[ $# -gt 0 ]]; then
    suites=()
    for dir in "$@"; do
        dir="${dir%/}"
        if [[ ! -d "$root/$dir/tests" ]]; then
            echo "typecheck-tests: $dir has no tests/ directory" >&2
            exit 2
        fi
        suites+=("$dir")
    done
else
    suites=("${config[@]:1}")
fi

cache_of() { [[ "$1" == "." ]] && echo "$cache_root/root" || echo "$cache_root/${1//\//-}"; }
label_of() { [[ "$1" == "." ]] && echo "tests" || echo "$1/tests"; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# One suite, its output and exit status in $out/<n>.{out,rc}; mypy prints paths relative to
# the suite's directory, made the root's here.
check() {
    local n="$1" dir="$2" status=0
    local targets=(tests)
    [[ "$dir" == "." && -f "$root/conftest.py" ]] && targets+=(conftest.py)
    (cd "$root/$dir" && "$mypy" --config-file "$root/pyproject.toml" --explicit-package-bases \
        --cache-dir "$(cache_of "$dir")" "${targets[@]}") >"$out/$n.raw" 2>&1 || status=$?
    local prefix=""
    [[ "$dir" != "." ]] && prefix="$dir/"
    sed -E "s#^(tests/|conftest\.py)#$prefix\1#" "$out/$n.raw" >"$out/$n.out"
    echo "$status" >"$out/$n.rc"
}

# The seed of the caches not made yet: the root suite's, which imports nearly every library
# (its tests start the whole stack); else any. On a cold start, that suite runs first, alone.
seed="$(cache_of .)"
[[ -d "$seed" ]] || seed="$(ls -dt "$cache_root"/*/ 2>/dev/null | head -n 1 || true)"
seed="${seed%/}"
done_first=-1
if [[ -z "$seed" ]]; then
    done_first=0
    for n in "${!suites[@]}"; do
        [[ "${suites[n]}" == "." ]] && done_first=$n
    done
    check "$done_first" "${suites[done_first]}"
    seed="$(cache_of "${suites[done_first]}")"
fi
for dir in "${suites[@]}"; do
    cache="$(cache_of "$dir")"
    if [[ ! -d "$cache" && -d "$seed" ]]; then
        cp -a "$seed" "$cache"
    fi
done
for n in "${!suites[@]}"; do
    [[ $n -eq $done_first ]] && continue
    while [[ $(jobs -rp | wc -l) -ge $parallel ]]; do
        wait -n || true
    done
    check "$n" "${suites[n]}" &
done
wait

failed=()
for n in "${!suites[@]}"; do
    label="$(label_of "${suites[n]}")"
    if [[ "$(cat "$out/$n.rc")" == "0" ]]; then
        printf '%-30s %s\n' "$label" "$(tail -n 1 "$out/$n.out")"
    else
        cat "$out/$n.out"
        printf '%-30s FAILED\n' "$label"
        failed+=("$label")
    fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "typecheck-tests: ${#failed[@]} of ${#suites[@]} failed: ${failed[*]}" >&2
    exit 1
fi
