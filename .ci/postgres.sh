# shellcheck shell=bash
# Source me (`. .ci/postgres.sh`): makes sure the PostgreSQL tests have a server and exports
# GNOMON_TEST_PG_URL. When something already answers at $GNOMON_TEST_PG_URL (default
# postgresql://postgres@127.0.0.1:5432/postgres: the development and CI machines run
# PostgreSQL 15 there, trust auth), nothing is done. Otherwise, as root on Debian, it
# installs the postgresql package if needed and starts a throwaway cluster as the postgres
# user (initdb refuses root) on a free port, stopped when the sourcing shell exits. Where
# that is impossible it warns, and the PostgreSQL tests skip with the reason.
# Needs python with psycopg (the test extra) on PATH.

gnomon_pg_answers() {
  python - "$1" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
}

gnomon_pg_start() {
  local bin dir port
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "== installing PostgreSQL (Debian package postgresql) for the store tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends postgresql >/dev/null) || return 1
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  dir="$(mktemp -d /tmp/gnomon-pg.XXXXXX)"
  mkdir -p "$dir/sock"
  chown -R postgres: "$dir" && chmod 700 "$dir"
  port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  su postgres -s /bin/bash -c "'$bin/initdb' -D '$dir/data' -U postgres -A trust --no-sync -E UTF8" >/dev/null || return 1
  su postgres -s /bin/bash -c "'$bin/pg_ctl' -w -D '$dir/data' -l '$dir/log' -o \"-k '$dir/sock' -p $port -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null || return 1
  GNOMON_PG_DIR="$dir"
  GNOMON_PG_BIN="$bin"
  export GNOMON_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  trap 'gnomon_pg_stop' EXIT
  echo "== throwaway PostgreSQL at $GNOMON_TEST_PG_URL ($dir)"
}

gnomon_pg_stop() {
  if [ -n "${GNOMON_PG_DIR:-}" ]; then
    su postgres -s /bin/bash -c "'$GNOMON_PG_BIN/pg_ctl' -D '$GNOMON_PG_DIR/data' -m fast stop" >/dev/null 2>&1 || true
    rm -rf "$GNOMON_PG_DIR"
    GNOMON_PG_DIR=""
  fi
}

export GNOMON_TEST_PG_URL="${GNOMON_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
if gnomon_pg_answers "$GNOMON_TEST_PG_URL"; then
  echo "== PostgreSQL answers at $GNOMON_TEST_PG_URL"
elif [ "$(id -u)" = 0 ]; then
  gnomon_pg_start || echo "warning: could not start a PostgreSQL server; the PostgreSQL tests will be skipped"
else
  echo "warning: no PostgreSQL at $GNOMON_TEST_PG_URL and none can be started here (not root); the PostgreSQL tests will be skipped"
fi
