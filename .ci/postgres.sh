#!/usr/bin/env bash
# Start a PostgreSQL server for the store tests and print its URL.
#
# Idempotent: installs Debian's postgresql when it is missing, creates and starts the default
# cluster (run as user postgres, listening on 127.0.0.1 only), creates the role and database the
# tests use, writes the URL to ${TMPDIR:-/tmp}/quotegraph-postgres.url and prints it as the last line:
#     QUOTEGRAPH_TEST_PG=postgresql://quotegraph:quotegraph@127.0.0.1:PORT/quotegraph_test
# Use:  export "$(bash .ci/postgres.sh | tail -n 1)"
set -euo pipefail
cd "$(dirname "$0")"

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
# Loopback only: the tests need nothing else and the machine is shared.
conf="/etc/postgresql/$version/main/conf.d"
mkdir -p "$conf"
echo "listen_addresses = '127.0.0.1'" > "$conf/quotegraph-loopback.conf"
if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
  pg_ctlcluster "$version" main start
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q -h 127.0.0.1 -p $port" && break
  sleep 1
done

psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -q -p $port -tAc \"$1\""; }
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='quotegraph'")" != "1" ]; then
  psql_admin "CREATE ROLE quotegraph LOGIN PASSWORD 'quotegraph'"
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname='quotegraph_test'")" != "1" ]; then
  psql_admin "CREATE DATABASE quotegraph_test OWNER quotegraph"
fi
url="postgresql://quotegraph:quotegraph@127.0.0.1:$port/quotegraph_test"
echo "$url" > "${TMPDIR:-/tmp}/quotegraph-postgres.url"
echo "QUOTEGRAPH_TEST_PG=$url"
