"""Settings for YourLocalShop, read from the environment (see `.env.example` for every key).

Two shapes, one codebase:
- embedded default (no env): SQLite file, locmem cache, Celery tasks run eagerly in-process;
- production shape: DATABASE_URL=postgres://… and REDIS_URL=redis://… switch to PostgreSQL,
  a Redis cache and a real Celery broker.
"""

import re
from decimal import Decimal
from pathlib import Path

import environ
from django_countries.data import COUNTRIES as ISO_COUNTRIES

from yourlocalshop import __version__
from yourlocalshop.install_secrets import install_secret

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# Secrets come from the environment, else are generated once per installation and kept under
# SECRETS_DIR; a public development value is refused with DEBUG=0 (yourlocalshop.install_secrets).
SECRETS_DIR = Path(env.str("SECRETS_DIR", default=str(BASE_DIR / "var" / "secrets")))
SECRET_KEY, SECRET_KEY_SOURCE = install_secret(
    "SECRET_KEY", value=env.str("SECRET_KEY", default=""), directory=SECRETS_DIR, debug=DEBUG
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "yourlocalshop.views.csrf_failure"

INSTALLED_APPS = [
    # The admin with the shop's site (backoffice.site): header, owner's overview, reports.
    "backoffice.admin_apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # search lookups (trigram); harmless on SQLite
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_countries",
    "yourlocalshop",
    "accounts",
    "catalogue",
    "inventory",
    "carts",
    "orders",
    "fulfilment",
    "returns",
    "backoffice",
]

MIDDLEWARE = [
    # First, so every response (redirects and errors included) and every log line has the id.
    "yourlocalshop.middleware.RequestIdMiddleware",
    # Second, so its timing covers every other middleware and the view, and it counts their
    # refusals too.
    "yourlocalshop.metrics.MetricsMiddleware",
    "yourlocalshop.middleware.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "yourlocalshop.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "yourlocalshop.urls"
WSGI_APPLICATION = "yourlocalshop.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if IS_POSTGRESQL:
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=5
    )
    # A statement a connection has run this many times is prepared on the server, which then
    # stops parsing and planning it again (psycopg does this; it needs server-side parameter
    # binding). Worth 10-17 % more paid orders/s in bench/checkout.py. 0 turns both off: needed
    # behind a connection pooler that does not carry prepared statements across transactions
    # (PgBouncer's transaction mode before 1.21).
    DATABASE_PREPARE_THRESHOLD = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    if DATABASE_PREPARE_THRESHOLD < 0:
        raise environ.ImproperlyConfigured("DATABASE_PREPARE_THRESHOLD must be 0 or more.")
    if DATABASE_PREPARE_THRESHOLD:
        DATABASES["default"]["OPTIONS"].update(
            server_side_binding=True, prepare_threshold=DATABASE_PREPARE_THRESHOLD
        )
else:
    # SQLite serialises writers. Every transaction takes the write lock when it begins
    # (IMMEDIATE), so a writer waits for it (up to `timeout` seconds) instead of failing with
    # "database is locked" when a read turns into a write; in WAL mode readers never wait for a
    # writer, nor a writer for readers (`make run` serves from several threads). synchronous stays
    # FULL: a paid order must survive a power cut, not only a crash.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL",
        }
    )
# RESET_DB=1 drops and recreates the schema at start (`manage.py prepare_database`, and pytest's
# --create-db), as `RESET_DB=1 pytest -q` and `docker run -e RESET_DB=1 …` expect.
RESET_DB = env.bool("RESET_DB", default=False)

# Seconds every health endpoint answers within, whatever is down (yourlocalshop.api.health).
HEALTH_DEADLINE_SECONDS = env.float("HEALTH_DEADLINE_SECONDS", default=0.08)

# --- Cache and Celery -------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# After a cache call finds Redis unreachable, each process serves without the cache this long
# before trying it again.
CACHE_RETRY_SECONDS = env.float("CACHE_RETRY_SECONDS", default=2.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "yourlocalshop.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="yls"),
            "TIMEOUT": 300,
            # Redis answers in well under a millisecond; a host that stopped answering must cost
            # a request no more than this (the cache is then skipped, see yourlocalshop.cache).
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.25),
                "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.25),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "yourlocalshop",
            "TIMEOUT": 300,
        }
    }

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
# Without a broker every task runs in-process at once, so the embedded mode needs no worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Celery's Django fixup closes every database connection after every task unless this is set,
# and then only after this many tasks: a worker would otherwise connect afresh for each task (a
# new PostgreSQL backend per paid order's outbox delivery). Between those, `yourlocalshop.celery`
# gives tasks the lifecycle Django gives requests (CONN_MAX_AGE, health checks).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
if CELERY_DB_REUSE_MAX < 0:
    raise environ.ImproperlyConfigured("CELERY_DB_REUSE_MAX must be 0 or more.")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# At-least-once delivery: a task is acknowledged after it ran, and re-queued if its worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=100)
# The visibility timeout is above any countdown or ETA we use, so Redis does not redeliver a task
# that is merely waiting. Short socket timeouts, and a task published while the broker is down
# fails at once instead of retrying inside the request: the outbox row waits in the database and
# the sweep queues it again (yourlocalshop.outbox).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULER = "yourlocalshop.beat:ResilientDatabaseScheduler"
# Beat writes each periodic task's last run to the database as it sends it (one small UPDATE a
# task, a few a minute), not every three minutes (its default): the beat lag metric and the
# health detail read that time, and would otherwise see a task running every 30 s as minutes old.
CELERY_BEAT_SYNC_EVERY = 1
# Seconds beat waits before asking an unreachable database again (it never exits over it), and
# how overdue a periodic task may be before the health detail flags it.
BEAT_DATABASE_RETRY_SECONDS = env.int("BEAT_DATABASE_RETRY_SECONDS", default=5)
PERIODIC_TASK_LATE_SECONDS = env.int("PERIODIC_TASK_LATE_SECONDS", default=300)

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/account/login/"
LOGIN_REDIRECT_URL = "/"
DEMO_ADMIN_EMAIL = env.str("DEMO_ADMIN_EMAIL", default="admin@yourlocalshop.local")
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="change-me-admin")

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (product images). Files on this machine by default, served by the app itself
# when SERVE_MEDIA (on with DEBUG, i.e. `make run`); production with several servers keeps them
# in object storage: MEDIA_STORAGE=storages.backends.s3.S3Storage with django-storages
# (docs/deployment.md), its options as JSON in MEDIA_STORAGE_OPTIONS.
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=DEBUG)
STORAGES = {
    "default": {
        "BACKEND": env.str("MEDIA_STORAGE", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("MEDIA_STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email ------------------------------------------------------------------------------------
# EMAIL_URL (django-environ: smtp+tls://user:password@host:587, consolemail://, ...) sets the
# backend and server in one value; without it the Django keys below are read. The default prints
# every email to the console, which is what `make run` shows.
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
    )
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
# A slow mail server must not hold an outbox delivery until the task's time limit.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="shop@yourlocalshop.local")

# --- Security (production) --------------------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG and env.bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Health probes (Docker HEALTHCHECK, Kubernetes) call plain HTTP from inside the pod.
SECURE_REDIRECT_EXEMPT = [r"^api/health(/live|/ready)?$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Proxies between the clients and the app, each appending the address it saw to X-Forwarded-For.
# The client address (rate limits, the guest reservation cap) is the entry this many from the
# right; 0 ignores the header, which any client can write, and takes the connection's address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise environ.ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent by yourlocalshop.middleware.ContentSecurityPolicyMiddleware; empty disables the header.
# Scripts only from our origin; inline <style> is allowed because the printable invoice, packing
# slip and 500 page are deliberately self-contained.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
)
# Swagger UI and ReDoc are served from drf-spectacular-sidecar's static files (same origin, no
# CDN); Swagger UI's start-up script is a file too (SpectacularSwaggerSplitView). ReDoc styles
# itself inline and renders the schema in a blob: worker.
CONTENT_SECURITY_POLICY_API_DOCS_PATHS = ("/api/docs", "/api/redoc")
CONTENT_SECURITY_POLICY_API_DOCS = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)

# --- REST framework and OpenAPI ---------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF answers missing or invalid credentials with 401 only when the first class
    # names a WWW-Authenticate challenge (`Token`); SessionAuthentication has none, which turned
    # every "not signed in" into a 403. A request without `Authorization: Token` falls through to
    # the session, which enforces CSRF exactly as before.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["yourlocalshop.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "yourlocalshop.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "yourlocalshop.api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "checkout": env.str("THROTTLE_CHECKOUT", default="30/min"),
    },
    # DRF's default (None) takes the whole X-Forwarded-For header as the client's identity, so a
    # client forging it got a fresh one per request.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "YourLocalShop API",
    "DESCRIPTION": (
        "Catalogue, carts, checkout, fulfilment and returns of a local shop. Every error is an "
        "RFC 9457 problem details document (application/problem+json) with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "yourlocalshop.api.schema.shared_responses_and_links",
    ],
    # Other apps have `status` and `reason` fields too: the returns' enums are named here.
    "ENUM_NAME_OVERRIDES": {
        "ReturnStatusEnum": "returns.enums.ReturnStatus",
        "ReturnReasonEnum": "returns.enums.ReturnReason",
        "ReturnLineConditionEnum": "returns.enums.ReturnLineCondition",
    },
}

# --- The shop ---------------------------------------------------------------------------------
SHOP_NAME = env.str("SHOP_NAME", default="YourLocalShop")
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="EUR")
# The shop's own country (ISO 3166 code): the checkout's country field starts on it, and a cart's
# delivery is estimated for it before the customer gives an address.
SHOP_COUNTRY = env.str("SHOP_COUNTRY", default="GB").upper()
if SHOP_COUNTRY not in ISO_COUNTRIES:
    raise environ.ImproperlyConfigured(
        f"SHOP_COUNTRY must be an ISO 3166 country code (GB, PL, DE...), not {SHOP_COUNTRY!r}."
    )
SHOP_SELLER_ADDRESS = env.str("SHOP_SELLER_ADDRESS", default="1 High Street, Hometown")
SHOP_SELLER_VAT_ID = env.str("SHOP_SELLER_VAT_ID", default="")
# What customer emails and documents print about the shop, and the links they carry.
SHOP_URL = env.str("SHOP_URL", default="http://127.0.0.1:8000").rstrip("/")
SHOP_CONTACT_EMAIL = env.str("SHOP_CONTACT_EMAIL", default=DEFAULT_FROM_EMAIL)
SHOP_CONTACT_PHONE = env.str("SHOP_CONTACT_PHONE", default="")
# Where customers send returned goods (approved-return email); the seller address by default.
SHOP_RETURN_ADDRESS = env.str("SHOP_RETURN_ADDRESS", default=SHOP_SELLER_ADDRESS)
VAT_RATE = Decimal(env.str("VAT_RATE", default="0.20"))
PRICES_INCLUDE_TAX = env.bool("PRICES_INCLUDE_TAX", default=True)

CATALOGUE_CACHE_SECONDS = env.int("CATALOGUE_CACHE_SECONDS", default=300)
CATALOGUE_STOCK_HINT_CACHE_SECONDS = env.int("CATALOGUE_STOCK_HINT_CACHE_SECONDS", default=10)
# 0: every cached catalogue request checks the tokens it was built from, so an edit shows on every
# server's next request. Above 0, each process trusts a body it checked for that many seconds
# (catalogue.cache).
CATALOGUE_VERSION_RECHECK_SECONDS = env.float("CATALOGUE_VERSION_RECHECK_SECONDS", default=0.0)
if CATALOGUE_VERSION_RECHECK_SECONDS < 0:
    raise environ.ImproperlyConfigured("CATALOGUE_VERSION_RECHECK_SECONDS must be 0 or more.")
CATALOGUE_LOW_STOCK_THRESHOLD = env.int("CATALOGUE_LOW_STOCK_THRESHOLD", default=5)
CATALOGUE_WARMUP_TOP = env.int("CATALOGUE_WARMUP_TOP", default=500)
CATALOGUE_WARMUP_ON_START = env.bool("CATALOGUE_WARMUP_ON_START", default=True)
# PostgreSQL text search configuration (pg_ts_config) of product search; SQLite ignores it.
CATALOGUE_SEARCH_CONFIG = env.str("CATALOGUE_SEARCH_CONFIG", default="english")
if not re.fullmatch(r"[a-z_]+", CATALOGUE_SEARCH_CONFIG):
    raise environ.ImproperlyConfigured("CATALOGUE_SEARCH_CONFIG must be a configuration name.")

CART_MAX_QTY_PER_LINE = env.int("CART_MAX_QTY_PER_LINE", default=20)
CART_TTL_DAYS = env.int("CART_TTL_DAYS", default=30)

RESERVATION_TTL_SECONDS = env.int("RESERVATION_TTL_SECONDS", default=900)
RESERVATION_EXPIRY_INTERVAL_SECONDS = env.int("RESERVATION_EXPIRY_INTERVAL_SECONDS", default=30)
INVENTORY_PESSIMISTIC_THRESHOLD = env.int("INVENTORY_PESSIMISTIC_THRESHOLD", default=5)
INVENTORY_RECONCILE_INTERVAL_SECONDS = env.int("INVENTORY_RECONCILE_INTERVAL_SECONDS", default=3600)
MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS = env.int(
    "MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS", default=5
)

# The lease of a checkout execution on its Idempotency-Key, renewed at each step it completes:
# a retry of a crashed execution resumes it this long after its last step. Longer than the
# payment call with its retries.
IDEMPOTENCY_LOCK_SECONDS = env.int("IDEMPOTENCY_LOCK_SECONDS", default=30)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
OUTBOX_SWEEP_INTERVAL_SECONDS = env.int("OUTBOX_SWEEP_INTERVAL_SECONDS", default=60)

PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="mockproviders.payment.MockPaymentGateway")
# Payment reconciliation with the provider: how often, and over how many hours of charges.
PAYMENT_RECONCILE_INTERVAL_SECONDS = env.int("PAYMENT_RECONCILE_INTERVAL_SECONDS", default=3600)
PAYMENT_RECONCILE_WINDOW_HOURS = env.int("PAYMENT_RECONCILE_WINDOW_HOURS", default=48)
PAYMENT_MAX_RETRIES = env.int("PAYMENT_MAX_RETRIES", default=2)
PAYMENT_RETRY_BASE_SECONDS = env.float("PAYMENT_RETRY_BASE_SECONDS", default=0.2)
# Deadline of one gateway call, its retries included: a provider that hangs costs a web worker
# this long at most (gunicorn kills a worker after 30 s), and its silence is an unknown outcome.
# Shorter than the idempotency lease, which must outlast the payment call.
PAYMENT_TIMEOUT_SECONDS = env.float("PAYMENT_TIMEOUT_SECONDS", default=10.0)
if not 0 < PAYMENT_TIMEOUT_SECONDS < IDEMPOTENCY_LOCK_SECONDS:
    raise environ.ImproperlyConfigured(
        "PAYMENT_TIMEOUT_SECONDS must be above 0 and below IDEMPOTENCY_LOCK_SECONDS."
    )
MOCK_PAYMENT_SLOW_MS = env.int("MOCK_PAYMENT_SLOW_MS", default=3000)

COURIER_GATEWAY = env.str("COURIER_GATEWAY", default="mockproviders.courier.MockCourierGateway")
# The mock providers' app, and so its tables, only where a setting chooses one of its gateways:
# a shop running real providers has no mock ledgers in its database.
if any(path.startswith("mockproviders.") for path in (PAYMENT_GATEWAY, COURIER_GATEWAY)):
    INSTALLED_APPS.append("mockproviders")
COURIER_WEBHOOK_SECRET, COURIER_WEBHOOK_SECRET_SOURCE = install_secret(
    "COURIER_WEBHOOK_SECRET",
    value=env.str("COURIER_WEBHOOK_SECRET", default=""),
    directory=SECRETS_DIR,
    debug=DEBUG,
)
# A signed courier event older (or newer) than this is refused: a captured delivery cannot be
# replayed later.
COURIER_WEBHOOK_TOLERANCE_SECONDS = env.int("COURIER_WEBHOOK_TOLERANCE_SECONDS", default=300)
COURIER_NAME = env.str("COURIER_NAME", default="MockParcel")
COURIER_BOOKING_LOCK_SECONDS = env.int("COURIER_BOOKING_LOCK_SECONDS", default=60)

RETURN_WINDOW_DAYS = env.int("RETURN_WINDOW_DAYS", default=30)
# Whether a full return also refunds the order's shipping charge (EU distance-selling practice).
RETURN_REFUND_SHIPPING_ON_FULL_RETURN = env.bool(
    "RETURN_REFUND_SHIPPING_ON_FULL_RETURN", default=True
)

# --- Periodic tasks ---------------------------------------------------------------------------
# The whole beat schedule, here and nowhere else (no app adds to it). django_celery_beat copies it
# into its tables when beat starts. Tasks are named by their registered names.
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "outbox.sweep", "schedule": OUTBOX_SWEEP_INTERVAL_SECONDS},
    "inventory-expire-reservations": {
        "task": "inventory.tasks.expire_reservations",
        "schedule": float(RESERVATION_EXPIRY_INTERVAL_SECONDS),
    },
    "inventory-reconcile-stock": {
        "task": "inventory.tasks.reconcile_stock",
        "schedule": float(INVENTORY_RECONCILE_INTERVAL_SECONDS),
    },
    "carts-delete-abandoned": {"task": "carts.delete_abandoned_carts", "schedule": 60 * 60},
    "orders-sweep-abandoned-checkouts": {
        "task": "orders.sweep_abandoned_checkouts",
        "schedule": IDEMPOTENCY_LOCK_SECONDS,
    },
    "orders-purge-idempotency-keys": {"task": "orders.purge_idempotency_keys", "schedule": 3600},
    "orders-reconcile-payments": {
        "task": "orders.reconcile_payments",
        "schedule": PAYMENT_RECONCILE_INTERVAL_SECONDS,
    },
    # Packing tasks whose order_paid event was lost; bookings that failed past their retries.
    "fulfilment-heal-packing-tasks": {"task": "fulfilment.heal_packing_tasks", "schedule": 120.0},
    "fulfilment-retry-bookings": {"task": "fulfilment.retry_bookings", "schedule": 600.0},
    "returns-resume-refunds": {"task": "returns.resume_refunds", "schedule": 300.0},
}

# --- Metrics and error tracking (docs/operations.md) -------------------------------------------
# /metrics answers a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`; unset, it is off.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A Celery worker serves its own counters (reservations it expired, outbox deliveries) over HTTP
# on this port, for a scraper inside the cluster; 0 serves none.
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)
# The stock drift count compares every stock row with its ledger: read at most this often.
METRICS_STOCK_DRIFT_SECONDS = env.int("METRICS_STOCK_DRIFT_SECONDS", default=300)
VERSION = __version__
# Errors (and, above 0, a sample of traces) go to Sentry when SENTRY_DSN is set; no personal data.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from yourlocalshop.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=f"yourlocalshop@{VERSION}",
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# `json`: one JSON object per line with request_id and extra fields (order_id, …), for a log
# shipper; `plain`: readable lines for a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in {"plain", "json"}:
    raise environ.ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "yourlocalshop.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "yourlocalshop.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
# Workers and beat log through the same handler (and format) as the web processes.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# One line per request from yourlocalshop.middleware.RequestIdMiddleware (gunicorn's own access
# log is off in the image); runserver already prints one in development.
ACCESS_LOG = env.bool("ACCESS_LOG", default=not DEBUG)
