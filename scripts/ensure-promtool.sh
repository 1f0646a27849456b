#!/usr/bin/env bash
# Make sure promtool exists for the alert rules' tests (tests/deploy/test_monitoring.py runs
# `promtool check rules` and `promtool test rules` on deploy/monitoring). Installs Debian's
# `prometheus` package, which ships /usr/bin/promtool. Idempotent: installs only when no
# promtool is found.
set -euo pipefail

if [[ -n "${AS2BUS_PROMTOOL:-}" ]]; then
    [[ -x "$AS2BUS_PROMTOOL" ]] && { echo "ensure-promtool: using $AS2BUS_PROMTOOL"; exit 0; }
    echo "ensure-promtool: AS2BUS_PROMTOOL=$AS2BUS_PROMTOOL is not an executable" >&2
    exit 1
fi
if found="$(command -v promtool)"; then
    echo "ensure-promtool: found $found"
    exit 0
fi
if [[ "$(id -u)" -ne 0 ]]; then
    echo "ensure-promtool: promtool not found; run as root or install it: sudo apt-get install prometheus" >&2
    exit 1
fi
apt-get update -qq
# --no-install-recommends: promtool only, not the exporters; the package's service is not
# started where there is no init system (containers, CI).
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
echo "ensure-promtool: installed $(command -v promtool)"
