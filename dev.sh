#!/usr/bin/env bash
# One entry point for a fresh clone: `bash dev.sh app` starts the app, `bash dev.sh test` runs every test.
# Both create .venv (if missing) and install what they need into it first. STYLE_LENS_HOSTED=1 bash dev.sh app
# starts the app for a hosted server (no file watching).
set -euo pipefail
cd "$(dirname "$0")"
VENV=${STYLE_LENS_VENV:-.venv}
PY=${PYTHON:-python3}

setup() {
    local reqs=$1
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    local stamp="$VENV/.installed-$(cat requirements*.txt pyproject.toml | sha256sum | cut -c1-16)"
    # requirements-test.txt includes requirements.txt, so a test install also satisfies the app.
    if [ ! -f "$stamp-$reqs" ] && [ ! -f "$stamp-requirements-test.txt" ]; then
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -r "$reqs" -e .
        touch "$stamp-$reqs"
    fi
}

browser() {
    # The browser tests drive Debian's Chromium; Playwright cannot download its own build here.
    if [ ! -x /usr/bin/chromium ]; then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        else
            echo "dev.sh: /usr/bin/chromium is missing; install Debian's chromium package (sudo apt-get install chromium)" >&2
            exit 1
        fi
    fi
}

case "${1:-}" in
    app)
        shift
        setup requirements.txt
        # Ray is an optional extra: installed when the app is asked to run on it.
        if [ "${STYLE_LENS_EXECUTOR:-thread}" = ray ] && ! "$VENV/bin/python" -c "import ray" 2>/dev/null; then
            "$VENV/bin/python" -m pip install -q -e ".[ray]"
        fi
        # Hosted mode (a public or class server): watch no file at all; .streamlit/config.toml polls the
        # app's own sources for development.
        if [ "${STYLE_LENS_HOSTED:-0}" = 1 ]; then
            set -- --server.fileWatcherType none --server.runOnSave false "$@"
        fi
        exec "$VENV/bin/python" -m streamlit run app.py "$@"
        ;;
    test)
        shift
        setup requirements-test.txt
        browser
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: bash dev.sh app | test [pytest args]" >&2
        exit 2
        ;;
esac
