#!/usr/bin/env bash
# Quick start: install cunbot into .venv, create the demo county (prints invite codes), and
# start the service on the SQLite default. Then open http://127.0.0.1:8080/chat and send
# 「绑定 <邀请码>」 with one of the printed codes.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
.venv/bin/cunbot demo
exec .venv/bin/cunbot run
