#!/usr/bin/env bash
# Usage: scripts/with_localstack.sh CMD [ARGS...]
#
# Start LocalStack (S3 + SQS) on the host from .venv-localstack (scripts/localstack_venv.sh), on a
# free 127.0.0.1 port, wait until both services are up, run CMD with AWS_ENDPOINT_URL pointing at it
# (and fake credentials), then stop LocalStack's whole process group, also when CMD fails or the
# script is interrupted. Exits with CMD's exit code.
#
#   bash scripts/with_localstack.sh .venv/bin/pytest -m integration -q
#
# Env: LOCALSTACK_TIMEOUT_S (default 120) - how long to wait for the health check;
#      LOCALSTACK_KEEP_LOG=1 - keep the temp dir (log) after a successful run.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LS_PYTHON="$ROOT/.venv-localstack/bin/python"
TIMEOUT_S="${LOCALSTACK_TIMEOUT_S:-120}"

if [ ! -x "$LS_PYTHON" ]; then
    echo "with_localstack: $LS_PYTHON not found; run scripts/localstack_venv.sh first" >&2
    exit 2
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/localstack.XXXXXX")"
LOG="$TMP/localstack.log"
mkdir -p "$TMP/volume"
LS_PID=""
KEEP_TMP="${LOCALSTACK_KEEP_LOG:-0}"

log_tail() {
    echo "---- last 40 lines of $LOG ----" >&2
    tail -n 40 "$LOG" >&2 || true
    echo "----" >&2
}

stop_localstack() {
    [ -n "$LS_PID" ] || return 0
    local pid="$LS_PID"
    LS_PID=""
    # LocalStack runs in its own session (setsid), so its process group id is its pid.
    kill -TERM -- "-$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
        echo "with_localstack: LocalStack did not stop in 10 s; killing it" >&2
        kill -KILL -- "-$pid" 2>/dev/null || true
        sleep 0.5
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_localstack
    if [ "$KEEP_TMP" = "1" ]; then
        echo "with_localstack: LocalStack log kept at $LOG" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
CMD_PID=""

PORT="$("$LS_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
ENDPOINT="http://127.0.0.1:$PORT"

start=$(date +%s)
# setsid: own session/process group (killed as a whole above; Ctrl-C in the terminal does not reach it).
# DISABLE_EVENTS / SKIP_SSL_CERT_DOWNLOAD: no analytics or certificate download (no internet here);
# DNS_ADDRESS=0: no DNS server on port 53 (not needed). With psutil 7.2 its module fails to import
# anyway and LocalStack logs a harmless "Unable to start DNS: cannot import name 'snicaddr'" warning.
GATEWAY_LISTEN="127.0.0.1:$PORT" SERVICES=s3,sqs LOCALSTACK_VOLUME_DIR="$TMP/volume" \
    DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 DNS_ADDRESS=0 \
    setsid "$LS_PYTHON" -m localstack.runtime.main </dev/null >"$LOG" 2>&1 &
LS_PID=$!

ready() {
    "$LS_PYTHON" - "$ENDPOINT/_localstack/health" <<'EOF' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    services = json.load(r).get("services", {})
ok = all(services.get(s) in ("available", "running") for s in ("s3", "sqs"))
sys.exit(0 if ok else 1)
EOF
}

until ready; do
    if ! kill -0 "$LS_PID" 2>/dev/null; then
        echo "with_localstack: LocalStack exited before it was ready" >&2
        KEEP_TMP=1
        log_tail
        exit 1
    fi
    if [ $(($(date +%s) - start)) -ge "$TIMEOUT_S" ]; then
        echo "with_localstack: LocalStack not ready at $ENDPOINT after $TIMEOUT_S s" >&2
        KEEP_TMP=1
        log_tail
        exit 1
    fi
    sleep 0.5
done
elapsed=$(($(date +%s) - start))

export AWS_ENDPOINT_URL="$ENDPOINT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_SQS

echo "with_localstack: running against LocalStack (s3, sqs) at $ENDPOINT (ready in ${elapsed} s)" >&2
# CMD runs as a child we `wait` for, so a signal to this script is handled at once (a foreground
# child would delay the trap until it exits). `trap - INT QUIT` undoes the SIGINT/SIGQUIT ignore that
# bash applies to background jobs; CMD stays in the terminal's process group, so Ctrl-C reaches it.
wait_cmd() {  # wait up to $1 s for CMD to exit
    local n=$(($1 * 5))
    while [ "$n" -gt 0 ] && kill -0 "$CMD_PID" 2>/dev/null; do
        sleep 0.2
        n=$((n - 1))
    done
    ! kill -0 "$CMD_PID" 2>/dev/null
}
on_signal() {  # $1: exit code; $2: signal to forward to CMD now (empty: CMD got it from the terminal)
    trap '' INT TERM HUP
    if [ -n "$CMD_PID" ] && kill -0 "$CMD_PID" 2>/dev/null; then
        [ -z "$2" ] || kill "-$2" "$CMD_PID" 2>/dev/null || true
        if ! wait_cmd 30; then
            echo "with_localstack: CMD still running 30 s after the signal; terminating it" >&2
            kill -TERM "$CMD_PID" 2>/dev/null || true
            wait_cmd 10 || kill -KILL "$CMD_PID" 2>/dev/null || true
        fi
    fi
    exit "$1"
}
trap 'on_signal 130 ""' INT
trap 'on_signal 143 TERM' TERM
trap 'on_signal 129 TERM' HUP

( trap - INT QUIT; exec "$@" ) &
CMD_PID=$!
set +e
wait "$CMD_PID"
rc=$?
set -e
exit "$rc"
