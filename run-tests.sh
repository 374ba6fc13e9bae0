#!/usr/bin/env bash
# Run every test in a virtualenv of the repo's own: README's test command; .ci/run calls it too.
#
#   bash run-tests.sh [pytest args]            # .venv/ from the exact pins (requirements-dev.txt)
#   bash run-tests.sh --newest [pytest args]   # a throw-away virtualenv with the newest versions
#                                              # the ranges in requirements-dev.in allow
#   bash run-tests.sh -m "not e2e"             # the fast lane: no test that starts a local cloud
set -euo pipefail
cd "$(dirname "$0")"

newest=0
if [ "${1:-}" = "--newest" ]; then
  newest=1
  shift
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "This project needs Python 3.11 or newer; '$python' is $("$python" --version 2>&1 || echo missing). Set PYTHON=/path/to/python3.11 and run again." >&2
  exit 2
fi

if [ "$newest" = 1 ]; then
  venv=$(mktemp -d)/venv
  trap 'rm -rf "$(dirname "$venv")"' EXIT
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  # Ranges, not pins: pip picks the newest release of each that fits.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade -r requirements-dev.in
  echo "Testing with the newest versions the ranges allow:"
  "$venv/bin/python" -m pip freeze | grep -iE '^(boto3|moto|duckdb|sqlglot|pyathena|pandas|pyarrow|jsonpath-ng|streamlit|plotly|werkzeug|awswrangler|hypothesis|pytest)==' | tr '\n' ' '
  echo
else
  venv=.venv
  stamp="$venv/.installed-from"
  want=$(sha256sum requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
  if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
  fi
  # Reinstall only when the pins changed since the last run (a warm run starts at once).
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
    echo "$want" > "$stamp"
  fi
fi

# The browser test drives Debian's Chromium (Playwright cannot download its own browser here).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing and this user cannot install it: run 'apt-get install chromium' as root first." >&2
    exit 1
  fi
fi

exec "$venv/bin/python" -m pytest --durations=15 "$@"
