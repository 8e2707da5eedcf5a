"""/metrics: who may read it, and the shop's state read at scrape time (yourlocalshop.metrics)."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.core.cache import cache
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from inventory.metrics import STOCK_DRIFT_CACHE_KEY
from inventory.models import StockItem
from orders.tests.factories import stocked_product
from yourlocalshop.models import OutboxEvent
from yourlocalshop.testing import metric, scrape_metrics

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_metrics_do_not_exist_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "secret-token"])
def test_metrics_refuse_a_scraper_without_the_bearer_token(client, settings, authorization):
    settings.METRICS_TOKEN = "secret-token"
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"shop_" not in response.content


def test_every_metric_of_the_operations_guide_is_exposed(client, settings):
    samples = scrape_metrics(client, settings)
    names = {name for name, _labels in samples}

    for outcome in ("paid", "declined", "refunded", "failed", "refused"):
        assert ("shop_checkout_outcomes_total", frozenset({("outcome", outcome)})) in samples
    assert {
        "shop_outbox_undelivered_events",
        "shop_outbox_oldest_undelivered_age_seconds",
        "shop_reservations_live",
        "shop_stock_units_held",
        "shop_stock_drift_rows",
    } <= names


def test_requests_are_labelled_by_url_pattern_not_by_path(client, settings):
    product = stocked_product(on_hand=3)
    client.get(f"/api/products/{product.sku}")
    client.get("/no/such/page/12345")

    samples = scrape_metrics(client, settings)

    detail = {"method": "GET", "endpoint": "api/products/<str:sku>", "status": "200"}
    assert metric(samples, "shop_http_requests_total", **detail) >= 1
    unresolved = {"method": "GET", "endpoint": "<unresolved>", "status": "404"}
    assert metric(samples, "shop_http_requests_total", **unresolved) >= 1
    assert not any(product.sku in str(labels) for _name, labels in samples)


def test_outbox_backlog_and_the_age_of_its_oldest_event(client, settings):
    OutboxEvent.objects.create(
        event_type="order_paid",
        aggregate_id="1",
        payload={},
        created_at=timezone.now() - timedelta(minutes=10),
    )
    OutboxEvent.objects.create(event_type="order_paid", aggregate_id="2", payload={})
    OutboxEvent.objects.create(
        event_type="order_paid", aggregate_id="3", payload={}, delivered_at=timezone.now()
    )

    samples = scrape_metrics(client, settings)

    assert metric(samples, "shop_outbox_undelivered_events") == 2
    assert 600 <= metric(samples, "shop_outbox_oldest_undelivered_age_seconds") < 700


def test_stock_drift_counts_a_stock_row_that_disagrees_with_its_ledger(client, settings):
    product = stocked_product(on_hand=5)
    assert metric(scrape_metrics(client, settings), "shop_stock_drift_rows") == 0

    StockItem.objects.filter(product=product).update(on_hand=4)  # a write behind the ledger

    # Read again only once METRICS_STOCK_DRIFT_SECONDS have passed (it reads every stock row).
    assert metric(scrape_metrics(client, settings), "shop_stock_drift_rows") == 0
    cache.delete(STOCK_DRIFT_CACHE_KEY)
    assert metric(scrape_metrics(client, settings), "shop_stock_drift_rows") == 1


def test_beat_lag_is_the_age_of_each_periodic_task_last_run(client, settings):
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="outbox-sweep",
        task="yourlocalshop.outbox.outbox_sweep_task",
        interval=every_minute,
        last_run_at=timezone.now() - timedelta(minutes=5),
    )

    samples = scrape_metrics(client, settings)

    age = metric(samples, "shop_beat_task_last_run_age_seconds", task="outbox-sweep")
    assert 300 <= age < 400


def test_alert_rules_and_dashboard_use_only_metrics_the_shop_exports(client, settings):
    settings.METRICS_TOKEN = "test-metrics-token"
    exposition = client.get(
        "/metrics", headers={"Authorization": "Bearer test-metrics-token"}
    ).content.decode()
    exported = {family.name for family in text_string_to_metric_families(exposition)}
    monitoring = ROOT / "deploy" / "monitoring"
    rules = yaml.safe_load((monitoring / "alerts.yml").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((monitoring / "grafana-dashboard.json").read_text())
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]

    used = {
        # Counters are exported as `<family>_total`, histograms as `_bucket`, `_count`, `_sum`.
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for expression in expressions
        for name in re.findall(r"\bshop_[a-z_]+", expression)
    }

    assert used, "no shop metric found in the rules"
    assert used - exported == set()
    assert {
        "ShopCheckoutErrorRateHigh",
        "ShopOutboxEventsStuck",
        "ShopBeatLate",
        "ShopStockDrift",
    } <= {rule["alert"] for group in rules["groups"] for rule in group["rules"]}


@pytest.mark.redis
def test_celery_queue_length_counts_the_tasks_waiting_in_the_broker(client, settings):
    from yourlocalshop.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("eager tasks have no queue")  # never with REDIS_URL set (the PG suite)
    app.control.purge()
    assert metric(scrape_metrics(client, settings), "shop_celery_queue_length") == 0
    try:
        for _ in range(3):  # a task no worker of this test run knows: it only waits
            app.send_task("yourlocalshop.tests.metrics_probe")
        assert metric(scrape_metrics(client, settings), "shop_celery_queue_length") == 3
    finally:
        app.control.purge()
