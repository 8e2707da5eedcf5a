#!/usr/bin/env bash
# Same as `make run`: bootstrap .venv if needed, migrate, seed the sample catalogue (an empty one
# only), create the demo admin and serve the shop on http://127.0.0.1:8000 (override with HOST=…
# PORT=… ./run.sh).
set -euo pipefail
cd "$(dirname "$0")"
exec make run "$@"
