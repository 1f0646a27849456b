# as2bus developer commands. `make run` and `make test` work on a fresh machine: they install
# uv (into .tools/ when it is not on PATH), the locked Python environment, and for the tests
# PostgreSQL's server binaries (Debian package) when they are missing.

SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
# Installed packages get their bytecode at install time: where PYTHONDONTWRITEBYTECODE is set
# (this machine sets it), every service process would otherwise compile its libraries from
# source at each start (7.5 s instead of 3 s here), and the tests start many.
export UV_COMPILE_BYTECODE := 1
PYTEST_ARGS ?=
# pytest-xdist workers for `make test`: the tests wait on the services they start about half
# the time, so two keep a 2-core machine busy; 0 runs them in one process.
TEST_WORKERS ?= 2

.PHONY: help run test lint fmt typecheck unit integration asyncapi sync postgres chromium promtool nodejs clean images bench chaos fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

sync: $(UV) ## install the locked environment (.venv)
	$(UV) sync --frozen --quiet

postgres: ## make sure PostgreSQL server binaries exist for the integration tests
	@scripts/ensure-postgres.sh

chromium: ## make sure Debian's Chromium exists for the console's browser tests (Playwright)
	@scripts/ensure-chromium.sh

promtool: ## make sure promtool exists for the alert rules' tests (Debian's prometheus package)
	@scripts/ensure-promtool.sh

nodejs: examples/nodejs/node_modules ## the Node.js example client's packages (npm ci, from its lock file)

examples/nodejs/node_modules: examples/nodejs/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is needed for the Node.js example client's test (Debian: apt-get install nodejs npm)"; exit 1; }
	cd examples/nodejs && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Its ports move with AS2BUS_NATS_PORT= and AS2BUS_BASE_PORT= (as2bus up's --nats-port and
# --base-port), from the environment or the command line: make run AS2BUS_NATS_PORT=4422.
run: sync ## run the whole gateway locally (nats-server + every service, SQLite, data in ./var)
	$(UV) run --frozen as2bus up

lint: sync ## ruff (lint + format check), mypy (packages and test suites) and the import boundaries (lint-imports)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy
	$(UV) run --frozen scripts/typecheck-tests.sh
	$(UV) run --frozen lint-imports

fmt: sync ## apply ruff's fixes and formatting
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

test: sync postgres chromium promtool nodejs lint ## lint, type check, unit, integration and browser tests (real NATS + PostgreSQL + Chromium), TEST_WORKERS in parallel
	$(UV) run --frozen pytest -m "not bench and not fuzz" -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: sync postgres ## the benchmarks' smoke tests, then the benchmarks of the local stack + scale-out proof and curve (BENCH_ARGS=--postgres|--huge|--quick)
	$(UV) run --frozen pytest -m bench tests/bench
	$(UV) run --frozen python -m bench.run $(BENCH_ARGS)
	$(UV) run --frozen python -m bench.codec
	$(UV) run --frozen python -m bench.scale_out
	$(UV) run --frozen python -m bench.scale_curve

# The big fuzz run (docs/reliability.md): FUZZ_CASES (100000) in FUZZ_WORKERS processes (2),
# FUZZ_SEED to replay a run; every failing case, with its bytes, in var/fuzz/failures.jsonl.
# About 6 to 7 min on the 2-core machine (371 to 418 s for 102,000 cases).
fuzz: sync ## fuzz the AS2 endpoint: 100,000+ generated requests at the real receive path, prints count, rate and every failure (FUZZ_CASES=, FUZZ_SEED=)
	$(UV) run --frozen pytest -m fuzz -p no:cacheprovider -p no:logging -s services/inbound-svc/tests/fuzz/test_fuzz_big.py $(PYTEST_ARGS)

# Fault injection, each scenario its own run of the stack (chaos/scenarios.py): a process
# killed (about 30 s each on a quiet machine, 1 min at a load of 12, up to 2.5 min more when
# one fails), the partner stopped for 2 min (about 3), the network to it paused, async MDNs
# that never come (about 1 each), then the slow clients on the endpoint (about 1);
# CHAOS_ARGS=--only KEY ... (slow-clients for the last), --quick for a small load. Then the fuzzers
# (`make fuzz`), whatever the scenarios found; it fails if either did. In all about 20 min
# when the machine is quiet, 30 at a load of 12 (docs/reliability.md, "Time").
chaos: sync postgres ## fault injection: kill -9, stop, pause or MDN loss under load, count lost/duplicated/stuck; slow clients; update docs/reliability.md (CHAOS_ARGS=--only KEY...), then make fuzz
	@status=0; $(UV) run --frozen python -m chaos.run $(CHAOS_ARGS) || status=$$?; \
	$(MAKE) fuzz || status=1; exit $$status

typecheck: sync ## mypy over every package and every test suite (strict), as lint runs it
	$(UV) run --frozen mypy
	$(UV) run --frozen scripts/typecheck-tests.sh

integration: sync postgres chromium promtool nodejs ## integration and browser tests only (real NATS + PostgreSQL + Chromium)
	$(UV) run --frozen pytest -m "not bench" $$(find . -path ./.venv -prune -o -path '*/node_modules' -prune -o -type d -name integration -print) $(PYTEST_ARGS)

unit: sync ## unit tests only (no servers)
	$(UV) run --frozen pytest $$(find . -path ./.venv -prune -o -type d -name unit -print) $(PYTEST_ARGS)

asyncapi: sync ## regenerate docs/asyncapi.json from the event contracts
	$(UV) run --frozen python -m as2bus.shared.asyncapi docs/asyncapi.json

IMAGE_REGISTRY ?= ghcr.io/as2bus
IMAGE_TAG ?= dev
SERVICES := config-svc cert-svc inbound-svc outbound-svc tracklog-svc console-svc notify-svc

images: ## build the seven service images with docker (IMAGE_REGISTRY, IMAGE_TAG)
	@for svc in $(SERVICES); do \
		echo "docker build $(IMAGE_REGISTRY)/$$svc:$(IMAGE_TAG)"; \
		docker build -f services/$$svc/Dockerfile -t $(IMAGE_REGISTRY)/$$svc:$(IMAGE_TAG) . || exit 1; \
	done

clean: ## remove caches (keeps ./var, the local data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache
