#!/usr/bin/env bash
# Create .venv-localstack (repo root) with LocalStack's Python runtime, to run S3/SQS without Docker
# (see scripts/with_localstack.sh). Idempotent: does nothing when the stamp file records the same pins.
#
# Pins (Python 3.11): localstack-core 4.14+/2026.x use Python 3.12 syntax; without the other four the
# runtime fails at start (missing cbor2._decoder, pyOpenSSL API removals, missing service_identity).
set -euo pipefail
# -qq: errors only (this machine's pip config names index folders that do not exist: one warning per package).

PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv-localstack"
STAMP="$VENV/.installed"
PINS=(
    "localstack-core[runtime]==4.12.0"
    "cbor2==5.6.5"
    "pyopenssl==24.2.1"
    "cryptography==43.0.3"
    "service_identity"
)
WANT="${PINS[*]}"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    echo "LocalStack already installed in $VENV"
    exit 0
fi

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -qq --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install -qq --disable-pip-version-check "${PINS[@]}"
# Fails (and leaves no stamp) if the runtime cannot even be imported.
"$VENV/bin/python" -c 'import localstack.runtime.main' >/dev/null
printf '%s\n' "$WANT" >"$STAMP"

version=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("localstack-core"))')
echo "LocalStack $version installed in $VENV in $(($(date +%s) - start)) s"
