import pytest
from django.conf import settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext


@pytest.mark.django_db
def test_health_reports_database_cache_and_broker(health_monitor):
    response = health_monitor.get("/api/health")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["db"] == "connected"
    assert body["cache"] == "ok"
    assert body["broker"] in {"ok", "eager"}


@pytest.mark.django_db
def test_health_tells_the_public_the_state_and_staff_and_monitoring_the_detail(
    api_client, client, staff_user, settings
):
    settings.METRICS_TOKEN = "monitoring-token"
    public = api_client.get("/api/health")
    wrong_token = api_client.get("/api/health", headers={"Authorization": "Bearer guessed"})
    monitoring = api_client.get("/api/health", headers={"Authorization": "Bearer monitoring-token"})
    client.force_login(staff_user)
    staff = client.get("/api/health")

    assert public.status_code == wrong_token.status_code == 200
    assert public.json() == wrong_token.json() == {"status": "ok"}
    detail = {"status", "db", "cache", "broker", "lateTasks", "payments", "version"}
    assert set(monitoring.json()) == set(staff.json()) == detail


@pytest.mark.django_db
def test_health_is_503_when_the_database_is_unreachable(api_client, health_monitor, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("database down")

    # The probes run in their own threads, each with its own connection.
    monkeypatch.setattr(type(connections["default"]), "cursor", refuse)

    response = health_monitor.get("/api/health")
    public = api_client.get("/api/health")
    ready = api_client.get("/api/health/ready")
    live = api_client.get("/api/health/live")

    assert response.status_code == 503
    assert public.status_code == 503
    assert public.json() == {"status": "unavailable"}
    assert response.json()["db"] == "notconnected"
    assert response.json()["status"] == "unavailable"
    assert response["Retry-After"] == "5"
    assert ready.status_code == 503
    assert ready["Retry-After"] == "5"
    assert live.status_code == 200  # a database outage restarts no web process


@pytest.mark.django_db
def test_unknown_api_url_is_a_problem_details_404(client):
    response = client.get("/api/no-such-thing")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["code"] == "not_found"
    assert {"type", "title", "detail"} <= body.keys()


@pytest.mark.django_db
def test_wrong_method_is_a_problem_details_405(api_client):
    response = api_client.post("/api/health")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_unknown_page_outside_the_api_is_an_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


@pytest.mark.django_db
def test_health_probes_leave_the_request_connection_alone(api_client):
    with CaptureQueriesContext(connection) as queries:
        assert api_client.get("/api/health").status_code == 200
        assert api_client.get("/api/health/ready").json() == {"status": "ready"}
        assert api_client.get("/api/health/live").json() == {"status": "alive"}

    assert len(queries) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_health_detail_keeps_no_database_connection_behind(health_monitor):
    """The checks run in a pool of threads that live as long as the process: a connection one of
    them opened would stay open (the cache's record of dropped writes, the payments detail)."""

    def other_connections() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
            return {pid for (pid,) in cursor.fetchall()}

    before = other_connections()
    for _ in range(3):
        assert health_monitor.get("/api/health").status_code == 200

    assert other_connections() <= before


def test_openapi_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


@pytest.mark.redis
def test_redis_cache_keeps_one_client_per_connection_pool(settings):
    from yourlocalshop.cache import RedisCache

    backend = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-client-reuse"})
    backend.set_many({"first": 1, "second": [2]})

    assert backend.get_many(["first", "second", "absent"]) == {"first": 1, "second": [2]}
    assert backend._cache.get_client() is backend._cache.get_client()
    assert backend._cache.get_client(write=True) is backend._cache.get_client()
    backend.delete_many(["first", "second"])


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_prepares_a_statement_once_it_has_run_it_the_threshold_times(settings):
    from catalogue.models import Product

    def probe() -> None:  # a statement no other test runs
        list(Product.objects.filter(sku="probe", slug="probe").values_list("image_url"))

    def probe_is_prepared() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return any(
                '"image_url"' in text and '"slug" = $' in text and '"sku" = $' in text
                for (text,) in cursor.fetchall()
            )

    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    assert threshold == settings.DATABASE_PREPARE_THRESHOLD > 0
    for _ in range(threshold):
        probe()
    assert not probe_is_prepared()  # run and planned afresh each time so far

    probe()

    assert probe_is_prepared()


@pytest.mark.skipif(settings.IS_POSTGRESQL, reason="SQLite's own settings: the SQLite suite")
def test_a_sqlite_database_file_is_opened_in_wal_mode_with_immediate_transactions(tmp_path):
    from django.db.backends.sqlite3.base import DatabaseWrapper

    shop_file = DatabaseWrapper(
        {**connection.settings_dict, "NAME": str(tmp_path / "shop.sqlite3")}, alias="wal_probe"
    )
    # The connection the backend opens for a request, with its settings' start-up commands.
    raw = shop_file.get_new_connection(shop_file.get_connection_params())
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 20_000
        assert shop_file.transaction_mode == "IMMEDIATE"
    finally:
        raw.close()


@pytest.mark.django_db
def test_an_unsafe_request_to_an_unknown_api_url_is_a_404_not_a_csrf_403():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).delete(
        "/api/cart/items/null,null", headers={"Authorization": "Token not-a-token"}
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
