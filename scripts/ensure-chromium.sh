#!/usr/bin/env bash
# Make sure Debian's Chromium exists for the console's browser tests (Playwright drives it
# through executable_path: Playwright's own browser download cannot work on these machines).
# Idempotent: installs only when no chromium binary is found.
set -euo pipefail

if [[ -n "${AS2BUS_CHROMIUM:-}" ]]; then
    [[ -x "$AS2BUS_CHROMIUM" ]] && { echo "ensure-chromium: using $AS2BUS_CHROMIUM"; exit 0; }
    echo "ensure-chromium: AS2BUS_CHROMIUM=$AS2BUS_CHROMIUM is not an executable" >&2
    exit 1
fi
if found="$(command -v chromium || command -v chromium-browser)"; then
    echo "ensure-chromium: found $found"
    exit 0
fi
if [[ "$(id -u)" -ne 0 ]]; then
    echo "ensure-chromium: chromium not found; run as root or install it: sudo apt-get install chromium" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "ensure-chromium: installed $(command -v chromium)"
