"""Operations: request ids, structured logs, production safety (`check --deploy`) and security
headers."""

import io
import json
import logging
import os
import secrets
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

from yourlocalshop.logging import JsonFormatter, RequestIdFilter, request_id_var

logger = logging.getLogger("yourlocalshop.tests.operations")


def view_that_logs(request):
    logger.info("order paid", extra={"order_id": uuid.UUID(int=7)})
    return HttpResponse("logged")


urlpatterns = [path("logs", view_that_logs)]


def capture_json_lines(target: logging.Logger):
    """Attaches the production handler setup (request-id filter + JSON formatter) to `target`;
    yields a function returning the parsed lines written so far."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    previous_level = target.level
    target.addHandler(handler)
    target.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        target.removeHandler(handler)
        target.setLevel(previous_level)


@pytest.fixture
def json_log():
    """The JSON lines written to this module's logger while the test runs."""
    yield from capture_json_lines(logger)


@pytest.fixture
def access_log():
    yield from capture_json_lines(logging.getLogger("yourlocalshop.access"))


# Subprocesses see only the environment a test gives them, never a developer's `.env` file.
WITHOUT_DOTENV = "import environ; environ.Env.read_env = lambda *args, **kwargs: None; "
MANAGE = (
    "import os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'yourlocalshop.settings'); "
    "from django.core.management import execute_from_command_line; "
    "execute_from_command_line(['manage.py', *sys.argv[1:]])"
)


def start_manage(*arguments: str, environment: dict[str, str]) -> subprocess.Popen:
    inherited = {
        key: value
        for key, value in os.environ.items()
        # The production shape must come from `environment` alone, not the developer's shell;
        # nor may the browser tests' async-safety escape hatch silence a deploy check.
        if not key.startswith(
            (
                "SECURE_",
                "DEBUG",
                "SECRET",
                "COURIER_WEBHOOK",
                "ALLOWED_HOSTS",
                "LOG_",
                "DJANGO_ALLOW_ASYNC",
            )
        )
    }
    return subprocess.Popen(
        [sys.executable, "-c", WITHOUT_DOTENV + MANAGE, *arguments],
        env={**inherited, **environment},
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


PRODUCTION_ENVIRONMENT = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "COURIER_WEBHOOK_SECRET": secrets.token_urlsafe(32),
    "ALLOWED_HOSTS": "shop.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


# --- Request id ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_request_id_is_generated_when_the_client_sends_none(client):
    response = client.get("/api/health")

    assert uuid.UUID(response["X-Request-ID"]).version == 4


@pytest.mark.django_db
def test_request_id_from_the_client_is_kept_and_echoed(client):
    response = client.get("/api/health", headers={"X-Request-ID": "proxy-7f3a 42"})

    assert response["X-Request-ID"] == "proxy-7f3a 42"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "offered",
    ["x" * 201, "bad\x07bell", "tab\tinside", "naïve-café"],
    ids=["too-long", "control-character", "tab", "non-ascii"],
)
def test_request_id_that_is_unsafe_to_echo_is_replaced(client, offered):
    response = client.get("/api/health", headers={"X-Request-ID": offered})

    assert response["X-Request-ID"] != offered
    assert uuid.UUID(response["X-Request-ID"]).version == 4


@pytest.mark.django_db
def test_request_id_of_exactly_200_printable_characters_is_accepted(client):
    offered = "a" * 200

    response = client.get("/api/health", headers={"X-Request-ID": offered})

    assert response["X-Request-ID"] == offered


@pytest.mark.django_db
def test_request_id_is_on_error_responses_too(client):
    response = client.get("/api/no-such-endpoint", headers={"X-Request-ID": "trace-404"})

    assert response.status_code == 404
    assert response["X-Request-ID"] == "trace-404"


@pytest.mark.urls(__name__)
def test_log_lines_written_during_a_request_carry_its_id_and_extra_fields(client, json_log):
    response = client.get("/logs", headers={"X-Request-ID": "checkout-123"})

    (entry,) = json_log()
    assert response["X-Request-ID"] == "checkout-123"
    assert entry["request_id"] == "checkout-123"
    assert entry["message"] == "order paid"
    assert entry["order_id"] == str(uuid.UUID(int=7))
    assert entry["level"] == "INFO"
    assert entry["logger"] == "yourlocalshop.tests.operations"
    assert request_id_var.get() is None  # nothing leaks into the next request on this thread


@pytest.mark.urls(__name__)
def test_access_log_writes_one_json_line_per_request_with_its_id(client, access_log, settings):
    settings.ACCESS_LOG = True

    client.get("/logs?page=2", headers={"X-Request-ID": "access-1"})

    (entry,) = access_log()
    assert entry["request_id"] == "access-1"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/logs", 200)
    assert entry["duration_ms"] >= 0
    assert entry["message"].startswith("GET /logs 200 ")


@pytest.mark.urls(__name__)
def test_access_log_is_silent_when_switched_off(client, access_log, settings):
    settings.ACCESS_LOG = False

    client.get("/logs")

    assert access_log() == []


@pytest.mark.django_db
def test_django_request_warnings_logged_after_the_middleware_carry_the_request_id(client):
    django_request_log = capture_json_lines(logging.getLogger("django.request"))
    lines = next(django_request_log)
    try:
        client.get("/api/products/NO-SUCH-SKU", headers={"X-Request-ID": "lost-404"})
        warnings = lines()
    finally:
        django_request_log.close()

    assert [entry["request_id"] for entry in warnings] == ["lost-404"]
    assert warnings[0]["status_code"] == 404
    assert "request" not in warnings[0]


# --- JSON log formatter ---------------------------------------------------------------------------


def test_json_formatter_writes_one_object_per_record_with_a_placeholder_outside_requests(json_log):
    logger.warning("stock low", extra={"sku": "TEA-001", "available": 2})

    (entry,) = json_log()
    assert entry["request_id"] == "-"
    assert entry["sku"] == "TEA-001"
    assert entry["available"] == 2
    assert entry["timestamp"].endswith("+00:00")
    assert {"timestamp", "level", "logger", "message", "request_id"} <= entry.keys()


def test_json_formatter_includes_the_traceback_of_an_exception(json_log):
    try:
        raise ValueError("payment gateway answered nonsense")
    except ValueError:
        logger.exception("charge failed")

    (entry,) = json_log()
    assert entry["level"] == "ERROR"
    assert "ValueError: payment gateway answered nonsense" in entry["exception"]


def test_log_format_is_json_by_default_in_production():
    probe = (
        WITHOUT_DOTENV + "import django, logging; django.setup(); "
        "logging.getLogger('yourlocalshop.probe').warning('probe', extra={'order_id': 'O-1'})"
    )
    environment = {key: value for key, value in os.environ.items() if key != "LOG_FORMAT"}

    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**environment, "DEBUG": "0"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "probe"
    assert entry["order_id"] == "O-1"
    assert entry["request_id"] == "-"


def test_plain_log_format_shows_the_request_id():
    plain = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    record = logging.LogRecord(
        "yourlocalshop.probe", logging.WARNING, __file__, 1, "hi", None, None
    )
    token = request_id_var.set("r-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)

    assert plain.format(record).endswith("WARNING yourlocalshop.probe [r-1] hi")


# --- Production safety ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deploy_checks(tmp_path_factory) -> dict[str, tuple[int, str]]:
    """Each scenario's (exit code, output), started together: a Django start-up costs seconds."""
    check_deploy = ("check", "--deploy", "--fail-level", "WARNING")
    secrets_dir = tmp_path_factory.mktemp("secrets")
    unwritable = tmp_path_factory.mktemp("read-only")
    (unwritable / "secrets").write_text("a file where the directory should be")
    scenarios = {
        "production": (check_deploy, PRODUCTION_ENVIRONMENT),
        "no_hsts_generated_secrets": (
            check_deploy,
            {
                **PRODUCTION_ENVIRONMENT,
                "SECURE_HSTS_SECONDS": "0",
                "SECRET_KEY": "",
                "COURIER_WEBHOOK_SECRET": "",
                "SECRETS_DIR": str(secrets_dir),
            },
        ),
        "debug_public_secrets": (
            check_deploy,
            {
                **PRODUCTION_ENVIRONMENT,
                "DEBUG": "1",
                "SECRET_KEY": "django-insecure-local-development-key-change-me",
                "COURIER_WEBHOOK_SECRET": "dev-courier-webhook-secret",
            },
        ),
        "public_secret_key": (
            ("check",),
            {**PRODUCTION_ENVIRONMENT, "SECRET_KEY": "docker-compose-development-only"},
        ),
        "public_webhook_secret": (
            ("check",),
            {**PRODUCTION_ENVIRONMENT, "COURIER_WEBHOOK_SECRET": "dev-courier-webhook-secret"},
        ),
        "no_secret_nowhere_to_keep_it": (
            ("check",),
            {
                **PRODUCTION_ENVIRONMENT,
                "SECRET_KEY": "",
                "SECRETS_DIR": str(unwritable / "secrets"),
            },
        ),
        "negative_proxy_count": (
            ("check",),
            {**PRODUCTION_ENVIRONMENT, "TRUSTED_PROXY_COUNT": "-1"},
        ),
        "negative_version_recheck": (
            ("check",),
            {**PRODUCTION_ENVIRONMENT, "CATALOGUE_VERSION_RECHECK_SECONDS": "-1"},
        ),
        "negative_db_reuse": (
            ("check",),
            {**PRODUCTION_ENVIRONMENT, "CELERY_DB_REUSE_MAX": "-1"},
        ),
        # `check` reads the settings without connecting, so no server needs to answer.
        "negative_prepare_threshold": (
            ("check",),
            {
                **PRODUCTION_ENVIRONMENT,
                "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
                "DATABASE_PREPARE_THRESHOLD": "-1",
            },
        ),
    }
    processes = {
        name: start_manage(*arguments, environment=environment)
        for name, (arguments, environment) in scenarios.items()
    }
    results = {}
    for name, process in processes.items():
        output, _ = process.communicate(timeout=180)
        results[name] = (process.returncode, output)
    return results


def test_check_deploy_is_clean_with_production_settings(deploy_checks):
    returncode, output = deploy_checks["production"]

    assert returncode == 0, output


def test_check_deploy_flags_missing_hsts_and_secrets_generated_per_host(deploy_checks):
    returncode, output = deploy_checks["no_hsts_generated_secrets"]

    assert returncode != 0
    assert "security.W004" in output  # HSTS
    assert "yourlocalshop.W001" in output  # SECRET_KEY kept on this host only
    assert "yourlocalshop.W002" in output  # COURIER_WEBHOOK_SECRET too
    assert "security.W009" not in output  # what was generated is strong


def test_check_deploy_flags_every_public_secret(deploy_checks):
    returncode, output = deploy_checks["debug_public_secrets"]

    assert returncode != 0
    assert "security.W018" in output  # DEBUG
    assert "yourlocalshop.E001" in output
    assert "yourlocalshop.E002" in output


@pytest.mark.parametrize(
    ("scenario", "setting"),
    [("public_secret_key", "SECRET_KEY"), ("public_webhook_secret", "COURIER_WEBHOOK_SECRET")],
)
def test_production_refuses_to_start_with_a_public_secret(deploy_checks, scenario, setting):
    returncode, output = deploy_checks[scenario]

    assert returncode != 0
    assert f"{setting} is a public development value" in output


def test_production_refuses_to_start_without_a_secret_it_cannot_keep(deploy_checks):
    returncode, output = deploy_checks["no_secret_nowhere_to_keep_it"]

    assert returncode != 0
    assert "SECRET_KEY is not set and cannot be kept in" in output


@pytest.mark.parametrize(
    ("scenario", "setting"),
    [
        ("negative_proxy_count", "TRUSTED_PROXY_COUNT"),
        ("negative_version_recheck", "CATALOGUE_VERSION_RECHECK_SECONDS"),
        ("negative_prepare_threshold", "DATABASE_PREPARE_THRESHOLD"),
        ("negative_db_reuse", "CELERY_DB_REUSE_MAX"),
    ],
)
def test_a_negative_count_setting_is_refused_at_start(deploy_checks, scenario, setting):
    returncode, output = deploy_checks[scenario]

    assert returncode != 0
    assert f"{setting} must be 0 or more" in output


# --- Security headers ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_responses_carry_the_security_headers(client):
    response = client.get("/api/health")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    directives = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert directives["default-src"] == "'self'"  # scripts: same origin only, nothing inline
    assert "script-src" not in directives
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


@pytest.mark.django_db
def test_html_pages_get_the_same_origin_content_security_policy(client):
    response = client.get("/no-such-page/")

    assert "text/html" in response["Content-Type"]
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY


@pytest.mark.django_db
def test_health_endpoint_is_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    health = client.get("/api/health")
    products = client.get("/api/schema")

    assert health.status_code == 200
    assert products.status_code == 301
    assert products["Location"].startswith("https://")
