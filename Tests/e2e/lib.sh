# Shared by the end-to-end scripts: temp dir, cleanup, check helpers, free ports and a
# way to start `berth serve`. Source it; do not run it.

BERTH=${BERTH:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.build/debug/berth"}
MAKE_IMAGE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/make-oci-image.py"
WORK=$(mktemp -d /tmp/berth-e2e.XXXXXX)
PIDS=()
MOUNTS=()
FAILED=0
PASSED=0

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    for mount in "${MOUNTS[@]}"; do umount -l "$mount" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); echo "  ok   $1"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /' | head -20; }
check() { local name=$1; shift; local out; if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi; }
expect_eq() { if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected: $3"$'\n'"actual:   $2"; fi; }

# Runs a checking program that prints "  ok   NAME" / "  FAIL NAME" lines and counts them;
# a program that fails without saying what failed is a failure too.
run_checks() { # name command...
    local name=$1; shift
    local out rc line
    out=$("$@" 2>&1); rc=$?
    while IFS= read -r line; do
        case "$line" in
            "  ok   "*) pass "${line#  ok   }" ;;
            "  FAIL "*) fail "${line#  FAIL }" ;;
            *) echo "$line" ;;
        esac
    done <<< "$out"
    [ "$rc" -eq 0 ] || grep -q "^  FAIL" <<< "$out" || fail "$name ended with status $rc"
}

# Passes as soon as the command succeeds, fails if it has not within `seconds`.
eventually() { # seconds name command...
    local limit=$1 name=$2; shift 2
    local deadline=$((SECONDS + limit)) out
    while :; do
        if out=$("$@" 2>&1); then pass "$name"; return; fi
        [ $SECONDS -ge $deadline ] && { fail "$name" "$out"; return; }
        sleep 0.2
    done
}

# Waits (up to `seconds`) until the command succeeds; returns 1 if it never does. For the
# moments a test must hit on purpose (kill a server mid-push), instead of a fixed sleep.
wait_until() { # seconds command...
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.1; done
}

# An upload with bytes written under DATA_DIR's repositories (a push in flight).
upload_in_flight() { # data-dir [repository-glob]
    [ -n "$(find "$1/docker/registry/v2/repositories" -path "*${2:-}*/_uploads/*" -name data -size +0 2>/dev/null | head -1)" ]
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ready() { # url
    for _ in $(seq 1 100); do
        curl -sk -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "server at $1 did not start"; return 1
}

# Starts Debian's docker-registry (Distribution 2.8) and waits until it answers.
# The AWS SDK in Distribution cannot combine AWS_CA_BUNDLE with its own transport.
serve_distribution() { # config log port; sets DIST_PID
    env -u AWS_CA_BUNDLE docker-registry serve "$1" >>"$2" 2>&1 &
    DIST_PID=$!; PIDS+=("$DIST_PID")
    wait_ready "http://127.0.0.1:$3/v2/" || { cat "$2"; return 1; }
}

# Every `berth serve` of the scripts starts here: `berth serve ARGS…` in DIR (environment
# assignments before the call, REGISTRY_HTTP_ADDR=… say, reach it), output appended to
# DIR/berth.log or to $BERTH_OUT and $BERTH_ERR (stdout, stderr) when they are set. Waits
# until READY_URL answers (not when it is "-"); on failure prints the log and returns 1.
serve_berth() { # dir ready-url [serve args...]; sets BERTH_PID
    local dir=$1 url=$2; shift 2
    local out=${BERTH_OUT:-$dir/berth.log}
    local err=${BERTH_ERR:-$out}
    (cd "$dir" && exec "$BERTH" serve "$@") >>"$out" 2>>"$err" &
    BERTH_PID=$!
    PIDS+=("$BERTH_PID")
    [ "$url" = "-" ] && return 0
    wait_ready "$url" || { tail -50 "$err"; return 1; }
}

# A Berth without authentication on PORT, or with CONFIG; exits the script if it cannot start.
start_berth() { # dir port [config]; sets BERTH_PID
    local dir=$1 port=$2 config=${3:-}
    if [ -n "$config" ]; then
        serve_berth "$dir" "http://127.0.0.1:$port/v2/" --config "$config" || exit 1
    else
        REGISTRY_HTTP_ADDR=127.0.0.1:$port REGISTRY_AUTH_NONE=true serve_berth "$dir" "http://127.0.0.1:$port/v2/" || exit 1
    fi
}

SK="skopeo --insecure-policy"
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }


finish() {
    echo
    echo "$(basename "$0"): $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
