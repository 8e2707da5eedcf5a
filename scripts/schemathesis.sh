#!/usr/bin/env bash
# Fuzz the live API with schemathesis against its own OpenAPI schema (GET /api/schema).
#
# Migrates and seeds a throw-away database, serves it with gunicorn on a free loopback port, mints a
# customer token and a staff token, then runs every operation through the examples, coverage,
# fuzzing and stateful phases. Customer operations run with the customer's token, staff operations
# (/api/admin/...) with the staff token. The bar: no server error, no response outside the schema.
#
# Database: DATABASE_URL when set (CI gives it its own PostgreSQL database, dropped and recreated
# here), else a temporary SQLite file. Bounded: FUZZ_MAX_EXAMPLES test cases per operation and
# phase (default 25), FUZZ_SEED for a reproducible run. Reports go to FUZZ_REPORT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-25}
SEED=${FUZZ_SEED:-20261125}
REPORT_DIR=${FUZZ_REPORT_DIR:-schemathesis-report}
WORK_DIR=$(mktemp -d)

export DATABASE_URL=${DATABASE_URL:-sqlite:///${WORK_DIR}/fuzz.sqlite3}
# Tasks run in-process, so no worker is needed; the fuzzer must not trip the business rate limits,
# which tests/test_security.py proves on their own.
export CELERY_TASK_ALWAYS_EAGER=1
export THROTTLE_LOGIN=100000/min
export THROTTLE_CHECKOUT=100000/min
export MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS=100000
# Production settings (DEBUG off); the server's log goes to $REPORT_DIR/server.log.
export DEBUG=0 SECURE_COOKIES=0 LOG_FORMAT=plain LOG_LEVEL=WARNING ACCESS_LOG=0
export EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend
export CATALOGUE_WARMUP_ON_START=0 MOCK_PAYMENT_SLOW_MS=0
export CACHE_KEY_PREFIX="fuzz-$$"
# A developer's .env must not point the fuzzer at their own database.
export RESET_DB=1

mkdir -p "$REPORT_DIR"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK_DIR"
}
trap cleanup EXIT

echo "== fuzz: database ${DATABASE_URL%%\?*}"
if [[ "$DATABASE_URL" == postgres* ]]; then
  # The throw-away database may not exist yet: create it from the server's maintenance database.
  "$BIN/python" - "$DATABASE_URL" <<'PYTHON'
import sys

import environ
import psycopg

config = environ.Env.db_url_config(sys.argv[1])
params = {"host": config["HOST"], "port": config["PORT"] or 5432, "user": config["USER"]}
if config["PASSWORD"]:
    params["password"] = config["PASSWORD"]
with psycopg.connect(dbname="postgres", autocommit=True, **params) as connection:
    exists = connection.execute(
        "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
    ).fetchone()
    if not exists:
        connection.execute(f'CREATE DATABASE "{config["NAME"]}"')
PYTHON
fi
"$BIN/python" manage.py prepare_database --reset --verbosity 0
"$BIN/python" manage.py seed_products --file sample_products.json >/dev/null
# With DEBUG off the pages need the static manifest, as in the Docker image.
"$BIN/python" manage.py collectstatic --noinput --verbosity 0
read -r CUSTOMER_TOKEN STAFF_TOKEN < <("$BIN/python" scripts/fuzz_fixtures.py | tail -n 1)
[ -n "$STAFF_TOKEN" ] || { echo "fuzz fixtures failed" >&2; exit 1; }

PORT=$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE_URL="http://127.0.0.1:${PORT}"
"$BIN/gunicorn" yourlocalshop.wsgi:application --bind "127.0.0.1:${PORT}" --workers 2 \
  --timeout 60 --log-level warning 2>"$REPORT_DIR/server.log" &
SERVER_PID=$!

for _ in $(seq 1 100); do
  if "$BIN/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "${BASE_URL}/api/health/ready" 2>/dev/null; then
    break
  fi
  kill -0 "$SERVER_PID" || { echo "gunicorn did not start" >&2; exit 1; }
  sleep 0.2
done

# Checks: everything schemathesis has, except
# - positive_data_acceptance: valid-looking bodies are refused on purpose by business rules the
#   schema cannot express (an SKU that does not exist, an empty cart at checkout, a return for an
#   order that was not delivered);
# - ignored_auth: it swaps in a made-up session cookie but keeps the valid token this script sends
#   on every request, so a 200 is correct there; yourlocalshop/tests/test_security.py covers who sees
#   what.
CHECKS_EXCLUDED=${FUZZ_EXCLUDE_CHECKS-positive_data_acceptance,ignored_auth}

run_schemathesis() {
  local token=$1
  shift
  "$BIN/schemathesis" run "${BASE_URL}/api/schema" \
    --header "Authorization: Token ${token}" \
    --phases examples,coverage,fuzzing,stateful \
    --checks all --exclude-checks "$CHECKS_EXCLUDED" \
    --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
    --workers 1 --request-timeout 30 --no-shrink \
    --suppress-health-check all \
    --report junit --report-dir "$REPORT_DIR" \
    "$@"
}

# The two callers run side by side as separate processes, one worker each: schemathesis's worker
# threads can trip CPython 3.11's AST recursion check ("AST constructor recursion depth mismatch")
# when Hypothesis parses lambdas in two threads at once.
echo "== fuzz: customer operations (customer token) and staff operations (staff token)"
# auth/logout revokes the token the rest of the run needs; its behaviour is covered by tests.
run_schemathesis "$CUSTOMER_TOKEN" --exclude-path-regex '^/api/admin/' \
  --exclude-operation-id auth_logout \
  --report-junit-path "$REPORT_DIR/customer.xml" >"$REPORT_DIR/customer.log" 2>&1 &
CUSTOMER_PID=$!
run_schemathesis "$STAFF_TOKEN" --include-path-regex '^/api/admin/' \
  --report-junit-path "$REPORT_DIR/staff.xml" >"$REPORT_DIR/staff.log" 2>&1 &
STAFF_PID=$!
status=0
wait "$CUSTOMER_PID" || status=$?
wait "$STAFF_PID" || status=$?
echo "== fuzz: customer operations"
cat "$REPORT_DIR/customer.log"
echo "== fuzz: staff operations"
cat "$REPORT_DIR/staff.log"
# Errors logged by the server, also those behind answers schemathesis does not judge (pages
# outside /api it probes, for one).
if grep -E " (ERROR|CRITICAL) |\[(ERROR|CRITICAL)\]" "$REPORT_DIR/server.log"; then
  echo "the server logged errors (above; full log: $REPORT_DIR/server.log)" >&2
  status=1
fi
exit "$status"
