#!/usr/bin/env bash
# Make sure PostgreSQL server binaries exist for the local integration-test backend
# (as2bus.testing.infra runs initdb/postgres from /usr/lib/postgresql/<version>/bin when
# no Docker engine answers). Idempotent: installs only when nothing usable is found.
set -euo pipefail

# Highest version directory holding both initdb and postgres (same rule as infra.find_pg_bindir).
find_bindir() {
    if [[ -n "${AS2BUS_PG_BINDIR:-}" ]]; then
        [[ -x "$AS2BUS_PG_BINDIR/initdb" && -x "$AS2BUS_PG_BINDIR/postgres" ]] && echo "$AS2BUS_PG_BINDIR"
        return 0
    fi
    local dir found=""
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
        [[ -x "$dir/initdb" && -x "$dir/postgres" ]] && found="$dir"
    done
    echo "$found"
}

bindir="$(find_bindir)"
if [[ -n "$bindir" ]]; then
    echo "ensure-postgres: found PostgreSQL server binaries in $bindir"
    exit 0
fi
if [[ -n "${AS2BUS_PG_BINDIR:-}" ]]; then
    echo "ensure-postgres: AS2BUS_PG_BINDIR=$AS2BUS_PG_BINDIR has no initdb/postgres" >&2
    exit 1
fi
if [[ "$(id -u)" -ne 0 ]]; then
    echo "ensure-postgres: PostgreSQL server binaries not found; run as root or install them:" \
        "sudo apt-get install postgresql" >&2
    exit 1
fi

# The tests start their own throw-away servers: stop the package from creating (and starting)
# a system-wide cluster on port 5432.
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/as2bus-no-main.conf

apt-get update -qq
# --no-install-recommends still brings the server (postgresql -> postgresql-<version>).
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null

bindir="$(find_bindir)"
if [[ -z "$bindir" ]]; then
    echo "ensure-postgres: installed postgresql but found no server binaries" >&2
    exit 1
fi
echo "ensure-postgres: installed PostgreSQL server binaries into $bindir"
