# YourLocalShop. `make run` and `make test` work on a fresh clone: each bootstraps .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.runtime-installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
LINT_STAMP := $(VENV)/.lint-installed-$(shell cksum < requirements-lint.txt | cut -d' ' -f1)
FUZZ_STAMP := $(VENV)/.fuzz-installed-$(shell cksum < requirements-fuzz.txt | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install install-runtime run runserver backup restore test lint fmt migrations-check schema-check e2e-deps e2e screenshots lint-config bench openapi fuzz

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed (set PYTHON=python3.12)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# What serving needs (requirements.txt), for `make run` on a fresh clone: the development tools
# (pytest, playwright, ruff...) add a third to the first start. A complete install counts too.
$(RUN_STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed (set PYTHON=python3.12)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -f $(STAMP) || $(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.runtime-installed-* && touch $@

install-runtime: $(RUN_STAMP)

# What a start of the embedded shop does before it serves, `make run` and `make runserver` alike:
# the database migrated, the sample catalogue on an empty database only (a restart never touches
# prices, stock or orders), a picture for every product without one, the demo admin (DEBUG only).
# A failing step stops the start (set -e in its own subshell).
PREPARE_SHOP = (set -e; \
  $(BIN)/python manage.py prepare_database; \
  $(BIN)/python manage.py seed_products --file sample_products.json --if-empty; \
  $(BIN)/python manage.py make_sample_images; \
  $(BIN)/python manage.py ensure_demo_admin)

## Serve the shop on http://$(HOST):$(PORT) (SQLite, no services needed) through gunicorn. The sample
## catalogue fills an empty database only: a restart never touches prices, stock or orders.
## ONE process with RUN_THREADS threads. The embedded shape's cache (locmem) and its eager Celery
## tasks live inside that process, so a second process would serve catalogue pages its sibling has
## already invalidated; threads share the cache, and SQLite (WAL, IMMEDIATE transactions, a busy
## timeout) makes writers queue. Reloads on code changes while DEBUG=1 (the default here); each
## request and each e-mail sent is printed on the console.
RUN_THREADS ?= 8
RUN_SERVER = $(BIN)/gunicorn yourlocalshop.wsgi:application --bind $(HOST):$(PORT) --workers 1 \
  --threads $(RUN_THREADS) --timeout 60 --graceful-timeout 10
run: install-runtime
	@export DEBUG=$${DEBUG:-1} ACCESS_LOG=$${ACCESS_LOG:-1}; set -e; \
	$(PREPARE_SHOP); \
	case "$$DEBUG" in 1|true|True|yes|on) reload=--reload ;; \
	  *) reload=; $(BIN)/python manage.py collectstatic --noinput --verbosity 0 ;; esac; \
	exec $(RUN_SERVER) $$reload

## The same shop on Django's development server, for a debugger or its own conveniences: not for
## more than one shopper at a time (its short listen queue resets connections under a burst).
runserver: install-runtime
	@export DEBUG=$${DEBUG:-1}; set -e; \
	$(PREPARE_SHOP); \
	exec $(BIN)/python manage.py runserver $(HOST):$(PORT)

## Back up the shop: database (pg_dump, or SQLite's backup API) and media files in one archive,
## backups/yourlocalshop-<UTC time>.tar.gz unless BACKUP=path (docs/operations.md).
backup: install-runtime
	$(BIN)/python manage.py backup_shop $(if $(BACKUP),--output $(BACKUP))

## Restore BACKUP=path into an empty database and media folder (REPLACE=1 drops what is there
## first). Stop the web server, workers and beat before.
restore: install-runtime
	@test -n "$(BACKUP)" || { echo "make restore BACKUP=path/to/archive.tar.gz" >&2; exit 2; }
	$(BIN)/python manage.py restore_shop $(BACKUP) $(if $(filter 1,$(REPLACE)),--replace)

## The whole suite (SQLite unless DATABASE_URL says otherwise). pytest's exit 5 (nothing
## collected) is an error here: the suite is never empty.
test: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS) || { rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests" >&2; exit $$rc; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(LINT_STAMP): requirements-lint.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-lint.txt
	@rm -f $(VENV)/.lint-installed-* && touch $@

## The deployment files, checked by their own linters (pinned in requirements-lint.txt): workflows by
## actionlint, the Dockerfile by hadolint, compose and Kubernetes manifests against their schemas.
lint-config: $(LINT_STAMP)
	$(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/hadolint Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(BIN)/kubernetes-validate --strict --quiet deploy/k8s/*.yaml

## Browser-test dependencies: Debian's chromium + chromium-driver (never a downloaded browser), the
## pinned playwright package that drives it, and Debian's CJK fonts: chromium brings none, so a
## customer named 王小明 would show as boxes in the screenshots where a customer's own browser has
## its fonts. apt runs under a lock (/tmp/yls-apt.lock): parallel runs on one machine queue.
e2e-deps: install
	@debs=; test -x /usr/bin/chromium || debs="chromium chromium-driver"; \
	  fc-list :lang=zh family 2>/dev/null | grep -q . || debs="$$debs fonts-noto-cjk"; \
	  test -z "$$debs" || flock /tmp/yls-apt.lock sh -c "apt-get update && apt-get install -y $$debs"
	$(BIN)/python -m pip install --quiet "$$(grep -i '^playwright==' requirements-dev.txt)"

## The end-to-end scenarios in headless Chromium against a live server.
e2e: e2e-deps
	$(BIN)/pytest e2e -m browser $(PYTEST_ARGS)

## The end-to-end scenarios, saving a PNG of every step under docs/screenshots/ (never committed).
screenshots: e2e-deps
	E2E_SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest e2e -m browser $(PYTEST_ARGS)

## The shop under load (bench/README.md): gunicorn + a Celery worker + beat on a throw-away
## PostgreSQL database (yls_load) and Redis db 11; browsing, carts, checkout, packing, then a 10x
## burst, the invariants and a Prometheus scrape of /metrics checked against the database.
## Writes bench/results/latest.json. Shorter: BENCH_ARGS="--duration 5 --burst-duration 10".
## At a real shop's size: BENCH_ARGS="--catalogue-products 50000" (bench/catalogue_data.py adds them).
BENCH_ARGS ?=
bench: install
	$(BIN)/python bench/load.py $(BENCH_ARGS)

## Export the OpenAPI document to docs/openapi.json (a test fails when the committed one is stale).
openapi: install
	$(BIN)/python manage.py spectacular --format openapi-json --validate --fail-on-warn --file docs/openapi.json

$(FUZZ_STAMP): requirements-fuzz.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-fuzz.txt
	@rm -f $(VENV)/.fuzz-installed-* && touch $@

## Fuzz the live API with schemathesis (a throw-away database: DATABASE_URL, else SQLite).
fuzz: $(FUZZ_STAMP)
	scripts/schemathesis.sh

NEWMAN := node_modules/.bin/newman
BASE_URL ?= http://$(HOST):$(PORT)
$(NEWMAN): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## The Postman collection (docs/postman_collection.json) run by newman, pinned in package-lock.json,
## against a running server: `make run` in one terminal, `make postman` in another. Elsewhere:
## BASE_URL=… STAFF_EMAIL=… STAFF_PASSWORD=…. Any failed assertion fails the target.
postman: $(NEWMAN)
	$(NEWMAN) run docs/postman_collection.json --env-var baseUrl=$(BASE_URL) \
	  $(if $(STAFF_EMAIL),--env-var staffEmail=$(STAFF_EMAIL)) \
	  $(if $(STAFF_PASSWORD),--env-var staffPassword=$(STAFF_PASSWORD)) \
	  --timeout-request 30000 --color off
