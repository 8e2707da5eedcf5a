"""Suite-wide pytest setup.

PostgreSQL-only tests (`@pytest.mark.postgres`), Redis tests (`@pytest.mark.redis`) and fault
tests that start a PostgreSQL cluster of their own (`@pytest.mark.postgres_cluster`) skip with a
clear reason on a laptop without those services or programs. `.ci/run` sets
REQUIRE_SERVICE_TESTS=1, which turns any such skip into a failure, so CI cannot pass without
having run them.
"""

import importlib.util
import os

import pytest
from django.conf import settings

STRICT = os.environ.get("REQUIRE_SERVICE_TESTS") == "1"
# Debian's `chromium` (installed by `make e2e-deps`): the browser tests never download a browser.
CHROMIUM_PATH = "/usr/bin/chromium"
SERVICE_MARKERS = {
    "postgres": (
        lambda: settings.IS_POSTGRESQL,
        "needs PostgreSQL: set DATABASE_URL=postgres://… (row locks and real concurrent "
        "connections cannot be proven on SQLite)",
    ),
    "redis": (
        lambda: bool(settings.REDIS_URL),
        "needs Redis: set REDIS_URL=redis://… (a real broker or cache)",
    ),
    "postgres_cluster": (
        lambda: _postgres_cluster_unavailable() is None,
        "needs PostgreSQL's server programs for a cluster of the test's own (initdb, pg_ctl, "
        "pg_dump, pg_restore: apt-get install postgresql, or set POSTGRES_BIN_DIR) and, as root, "
        "a postgres account to run it",
    ),
    "browser": (
        lambda: os.path.exists(CHROMIUM_PATH) and bool(importlib.util.find_spec("playwright")),
        f"needs {CHROMIUM_PATH} and the playwright package: run `make e2e-deps`",
    ),
}
_skipped_service_tests: list[str] = []


def _postgres_cluster_unavailable() -> str | None:
    from yourlocalshop.tests.faults import postgres_cluster_unavailable

    return postgres_cluster_unavailable()


def pytest_configure(config):
    if os.environ.get("RESET_DB") == "1":
        config.option.create_db = True


def pytest_collection_modifyitems(config, items):
    for marker, (available, reason) in SERVICE_MARKERS.items():
        if available():
            continue
        for item in items:
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_logreport(report):
    if report.skipped and any(
        marker in report.keywords for marker in SERVICE_MARKERS
    ):  # pragma: no branch
        _skipped_service_tests.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if STRICT and _skipped_service_tests:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(
            f"REQUIRE_SERVICE_TESTS=1 but {len(_skipped_service_tests)} PostgreSQL/Redis/browser "
            "test(s) were skipped:",
            red=True,
        )
        for nodeid in _skipped_service_tests:
            reporter.write_line(f"  {nodeid}", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _patient_health_checks(settings):
    """A loaded CI machine can take longer than the production deadline (80 ms) to answer even
    SELECT 1; the tests of the deadline itself set it back."""
    settings.HEALTH_DEADLINE_SECONDS = 5


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def health_monitor(settings):
    """A client as monitoring calls the health detail: with the METRICS_TOKEN bearer."""
    from rest_framework.test import APIClient

    settings.METRICS_TOKEN = "monitoring-token-of-the-tests"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer monitoring-token-of-the-tests")
    return client


@pytest.fixture
def throttle_rates(settings):
    """Set rate limits for one test: `throttle_rates(checkout="2/min")`. Throttles read
    DEFAULT_THROTTLE_RATES when built, once per request, so the override applies at once."""

    def set_rates(**rates: str) -> None:
        rest_framework = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **rest_framework,
            "DEFAULT_THROTTLE_RATES": {**rest_framework["DEFAULT_THROTTLE_RATES"], **rates},
        }

    return set_rates


@pytest.fixture(params=[True, False], ids=["prices_include_tax", "tax_added"])
def tax_mode(request, settings) -> bool:
    """Runs a test in both tax modes (PRICES_INCLUDE_TAX 1 and 0); the value is the mode."""
    settings.PRICES_INCLUDE_TAX = request.param
    return request.param


@pytest.fixture
def outbox_in_process(monkeypatch):
    """Deliver outbox events in the test's process, whether or not a broker is configured (the
    PostgreSQL + Redis suite has one, with no worker consuming it)."""
    from yourlocalshop import outbox

    monkeypatch.setattr(
        outbox.outbox_deliver_task,
        "delay",
        lambda event_id: outbox.outbox_deliver(event_id=event_id),
    )


@pytest.fixture
def customer(db):
    from accounts.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff_user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(is_staff=True)


@pytest.fixture
def customer_client(api_client, customer):
    api_client.force_authenticate(customer)
    return api_client


@pytest.fixture(autouse=True, scope="session")
def _plain_static_storage():
    """Tests render templates without running collectstatic first, so no manifest is needed."""
    from django.test import override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Tests create users by the hundred; the production hasher is deliberately slow and its
    strength is not under test (that login runs a hasher at all is, in accounts' tests)."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield
