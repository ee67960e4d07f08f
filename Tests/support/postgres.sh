#!/usr/bin/env bash
# Starts a private PostgreSQL server on a free loopback port for the tests (source this file):
# its data in a temporary directory, trust authentication on 127.0.0.1 only. Exports
# BERTH_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT and stops the server on exit
# (call stop_test_postgres from your own EXIT trap if you set one).

pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do [ -x "$dir/initdb" ] && { echo "$dir"; return; }; done
    command -v initdb >/dev/null && dirname "$(command -v initdb)"
}

start_test_postgres() {
    local bin port dir runas=()
    bin=$(pg_bin) || true
    if [ -z "$bin" ]; then
        echo "PostgreSQL server binaries (initdb, postgres) not found" >&2
        return 1
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    dir=$(mktemp -d /tmp/berth-pg.XXXXXX)
    # PostgreSQL refuses to run as root.
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$dir"
        runas=(runuser -u postgres --)
    fi
    "${runas[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
    TEST_PG_OPTS="-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200"
    "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$TEST_PG_OPTS" start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
    TEST_PG_DIR=$dir
    TEST_PG_BIN=$bin
    TEST_PG_RUNAS=("${runas[@]}")
    export BERTH_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port"
    export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
}

stop_test_postgres() {
    [ -n "${TEST_PG_DIR:-}" ] || return 0
    "${TEST_PG_RUNAS[@]}" "$TEST_PG_BIN/pg_ctl" -D "$TEST_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$TEST_PG_DIR"
    TEST_PG_DIR=
}

# Takes the server away (as a crash or a network cut would) and brings it back on the same port.
pause_test_postgres() {
    "${TEST_PG_RUNAS[@]}" "$TEST_PG_BIN/pg_ctl" -D "$TEST_PG_DIR/data" -m immediate -w stop >/dev/null
}

# Stops the server and its backends without closing a connection: a database that stops
# answering (a partition, a hung host) rather than one that refuses.
freeze_test_postgres() {
    local main; main=$(head -1 "$TEST_PG_DIR/data/postmaster.pid")
    kill -STOP "$main" $(pgrep -P "$main") 2>/dev/null
}

thaw_test_postgres() {
    local main; main=$(head -1 "$TEST_PG_DIR/data/postmaster.pid")
    kill -CONT "$main" $(pgrep -P "$main") 2>/dev/null
}

resume_test_postgres() {
    "${TEST_PG_RUNAS[@]}" "$TEST_PG_BIN/pg_ctl" -D "$TEST_PG_DIR/data" -l "$TEST_PG_DIR/server.log" -w -t 60 -o "$TEST_PG_OPTS" start >/dev/null
}
