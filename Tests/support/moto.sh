#!/usr/bin/env bash
# Starts moto's standalone S3 server (the only S3 implementation installable here, from
# PyPI: moto[server]) on a free loopback port for the tests (source this file). Exports
# BERTH_TEST_S3=http://127.0.0.1:PORT; stop_test_moto stops it.

start_test_moto() {
    local port i
    if ! command -v moto_server >/dev/null; then
        echo "moto_server not found (pip install 'moto[server]')" >&2
        return 1
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    TEST_MOTO_LOG=$(mktemp /tmp/berth-moto.XXXXXX)
    moto_server -H 127.0.0.1 -p "$port" >"$TEST_MOTO_LOG" 2>&1 &
    TEST_MOTO_PID=$!
    for i in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        kill -0 "$TEST_MOTO_PID" 2>/dev/null || { cat "$TEST_MOTO_LOG" >&2; return 1; }
        sleep 0.1
    done
    export BERTH_TEST_S3="http://127.0.0.1:$port"
}

stop_test_moto() {
    [ -n "${TEST_MOTO_PID:-}" ] || return 0
    kill "$TEST_MOTO_PID" 2>/dev/null || true
    wait "$TEST_MOTO_PID" 2>/dev/null || true
    rm -f "$TEST_MOTO_LOG"
    TEST_MOTO_PID=
}
