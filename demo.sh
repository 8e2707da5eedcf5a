#!/usr/bin/env bash
# Smoke checks against a running YourLocalShop (`make run` in another terminal, or a deployment):
#   ./demo.sh                                  # http://127.0.0.1:8000
#   BASE_URL=https://shop.example.com ./demo.sh
# Prints each check; exits non-zero when any fails. Needs curl and python3.
set -uo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:8000}
BASE_URL=${BASE_URL%/}
REQUEST_ID="demo-$$-$(date +%s)"
WORK_DIR=$(mktemp -d)
trap 'rm -rf "$WORK_DIR"' EXIT
failures=0

pass() { printf '  ok    %s\n' "$1"; }
fail() { printf '  FAIL  %s\n' "$1"; failures=$((failures + 1)); }

# fetch NAME PATH: body → $WORK_DIR/NAME.body, headers → $WORK_DIR/NAME.headers; prints the status.
fetch() {
  curl --silent --show-error --max-time 10 \
    --header "X-Request-ID: $REQUEST_ID" --header "Accept: application/json" \
    --dump-header "$WORK_DIR/$1.headers" --output "$WORK_DIR/$1.body" \
    --write-out '%{http_code}' "$BASE_URL$2" 2>"$WORK_DIR/$1.error"
  true  # curl prints 000 when nothing answered; the caller reports it
}

# json NAME EXPRESSION: evaluates a Python expression over the parsed body `b`; prints the result.
json() {
  python3 -c 'import json, sys; b = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$WORK_DIR/$1.body" "$2" 2>/dev/null
}

expect() {  # expect DESCRIPTION ACTUAL EXPECTED
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1 (got '$2', expected '$3')"; fi
}

echo "YourLocalShop smoke checks against $BASE_URL"

echo "GET /api/health"
status=$(fetch health /api/health)
if [ "$status" = "000" ]; then
  fail "no answer from $BASE_URL: $(cat "$WORK_DIR/health.error")"
  echo "is the server running? (make run)"
  exit 1
fi
expect "status 200" "$status" "200"
expect "shop serving (ok or degraded)" "$(json health 'b["status"] in ("ok", "degraded")')" "True"
status=$(fetch ready /api/health/ready)
expect "database connected (ready)" "$(json ready 'b["status"]')" "ready"
if grep -qi "^x-request-id: $REQUEST_ID" "$WORK_DIR/health.headers"; then
  pass "X-Request-ID echoed"
else
  fail "X-Request-ID not echoed"
fi

echo "GET /api/products"
status=$(fetch list '/api/products?page_size=5')
expect "status 200" "$status" "200"
expect "paginated (count, next, previous, results)" \
  "$(json list 'sorted({"count", "next", "previous", "results"} & b.keys())')" \
  "['count', 'next', 'previous', 'results']"
expect "at least one product" "$(json list 'b["count"] > 0 and len(b["results"]) > 0')" "True"
sku=$(json list 'b["results"][0]["sku"]')

if [ -n "$sku" ]; then
  echo "GET /api/products/$sku"
  encoded_sku=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$sku")
  status=$(fetch detail "/api/products/$encoded_sku")
  expect "status 200" "$status" "200"
  expect "same sku" "$(json detail 'b["sku"]')" "$sku"
  expect "price is a decimal string" \
    "$(json detail '__import__("decimal").Decimal(b["price"]) >= 0 and isinstance(b["price"], str)')" "True"
  expect "stock hint, not a count" \
    "$(json detail 'b["stockHint"] in {"in_stock", "low_stock", "out_of_stock"}')" "True"
else
  fail "no sku in the product list: detail not checked"
fi

echo "GET /api/products/no-such-sku-$$"
status=$(fetch missing "/api/products/no-such-sku-$$")
expect "status 404" "$status" "404"
expect "problem details with a code" "$(json missing 'b["code"]')" "product_not_found"

echo "GET /api/schema"
status=$(fetch schema /api/schema)
expect "status 200" "$status" "200"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
