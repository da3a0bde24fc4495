#!/usr/bin/env bash
# Create .venv-ls (repo root) with Label Studio 1.23.2, for the e2e tests and local use.
# Idempotent: does nothing when .venv-ls/bin/label-studio already reports 1.23.2.
# Label Studio pins its own dependencies, so it lives in its own venv, apart from the project's .venv.
set -euo pipefail

LS_VERSION="${LS_VERSION:-1.23.2}"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv-ls"

installed_version() {
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("label-studio"))' 2>/dev/null || true
}

if [ -x "$VENV/bin/label-studio" ] && [ "$(installed_version)" = "$LS_VERSION" ]; then
    echo "Label Studio $LS_VERSION already installed in $VENV"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
# Only pip's own "Location ... is ignored" notes about find-links/index folders absent on this machine
# are dropped; errors and other warnings still show.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "label-studio==$LS_VERSION" 2>&1 \
    | { grep -v "^WARNING: Location '.*' is ignored" || true; }

echo "Label Studio $(installed_version) installed in $VENV ($VENV/bin/label-studio)"
