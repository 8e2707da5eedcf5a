"""The owner's overview and reports, as the owner, a packer and a returns clerk see them."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.tests.factories import staff_member
from catalogue.tests.factories import ProductFactory
from fulfilment import services as fulfilment_services
from fulfilment.tests.factories import PaidOrderFactory, paid_order_with_lines
from inventory.models import StockDrift, StockItem
from orders.models import Payment, PaymentReconciliation, Refund
from orders.services.reconciliation import MismatchKind
from returns.tests.factories import customer_order, return_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client):
    user = staff_member("Shop owner")
    client.force_login(user)
    return user


def _figures(response) -> dict:
    return {figure.label: figure for figure in response.context["overview"]}


def test_overview_answers_what_needs_the_owner_today(client, owner):
    old = paid_order_with_lines(
        skus_and_quantities=[("MUG", 1)], paid_at=timezone.now() - timedelta(days=2)
    )
    fulfilment_services.packing_task_create_for_order(order_id=old.pk)
    PaidOrderFactory(total=Decimal("19.98"))
    PaidOrderFactory(total=Decimal("5.02"))
    return_for(customer_order(), 1)
    StockItem.objects.create(product=ProductFactory(), on_hand=0)
    StockItem.objects.create(product=ProductFactory(), on_hand=2, reorder_level=3)
    drifted = StockItem.objects.create(product=ProductFactory(), on_hand=4)
    StockDrift.objects.create(
        stock_item=drifted, on_hand=4, ledger_on_hand=3, reserved=0, held_reserved=0
    )

    response = client.get("/admin/")

    figures = _figures(response)
    page = response.content.decode()
    assert figures["Orders paid today"].value == "2"
    assert figures["Orders paid today"].detail == "revenue €25.00"
    assert figures["Waiting to be packed"].value == "1"
    assert figures["Waiting to be packed"].detail.startswith("oldest waiting 2\xa0days")
    assert figures["Waiting to be packed"].attention
    assert figures["Returns to decide"].value == "1"
    assert figures["Out of stock"].value == "1"
    assert figures["At or below reorder level"].value == "1"
    assert figures["Stock ledger drift"].value == "1"
    assert "/admin/returns/returnrequest/?status__exact=requested" in page
    assert "/admin/inventory/stockitem/?level=reorder" in page


def test_every_overview_link_opens_its_filtered_list(client, owner):
    PaidOrderFactory()
    StockItem.objects.create(product=ProductFactory(), on_hand=2, reorder_level=3)

    figures = client.get("/admin/").context["overview"]
    pages = {figure.label: client.get(figure.url) for figure in figures}

    assert {label: page.status_code for label, page in pages.items()} == dict.fromkeys(pages, 200)
    assert pages["Orders paid today"].context["cl"].result_count == 1
    assert pages["At or below reorder level"].context["cl"].result_count == 1


def test_overview_shows_payment_differences_and_the_run_that_found_them(client, owner):
    order = PaidOrderFactory()
    checked_at = timezone.now() - timedelta(minutes=20)
    run = PaymentReconciliation.objects.create(
        checked_at=checked_at,
        since=checked_at - timedelta(hours=48),
        charges_checked=3,
        payments_checked=3,
        mismatches=[
            {
                "kind": MismatchKind.REFUND_NOT_RECORDED,
                "charge_id": "ch_dashboard",
                "order_id": str(order.pk),
                "shop_amount": "0.00",
                "provider_amount": "5.00",
                "repaired": False,
            }
        ],
        unresolved=1,
    )

    figure = _figures(client.get("/admin/"))["Payment differences"]
    run_page = client.get(figure.url)

    assert figure.value == "1"
    assert figure.attention
    assert figure.detail == "checked against the provider 20\xa0minutes ago"
    assert figure.url == f"/admin/orders/paymentreconciliation/{run.pk}/change/"
    assert run_page.status_code == 200
    page = run_page.content.decode()
    assert "needs a person" in page
    assert "a refund made in its dashboard" in page
    assert f'href="/admin/orders/order/{order.pk}/change/">{order.number}</a>' in page


def test_overview_flags_a_reconciliation_that_never_ran_or_is_late(client, owner, settings):
    never = _figures(client.get("/admin/"))["Payment differences"]
    PaymentReconciliation.objects.create(
        checked_at=timezone.now()
        - timedelta(seconds=3 * settings.PAYMENT_RECONCILE_INTERVAL_SECONDS),
        since=timezone.now() - timedelta(days=2),
    )
    late = _figures(client.get("/admin/"))["Payment differences"]

    assert (never.value, never.attention) == ("?", True)
    assert "is the worker running?" in never.detail
    assert (late.value, late.attention) == ("0", True)
    assert late.detail.endswith(": late, is the worker running?")


def test_overview_names_late_periodic_tasks_and_links_their_list(client, owner):
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.create(
        name="outbox-sweep",
        task="outbox.sweep",
        interval=every_minute,
        last_run_at=timezone.now() - timedelta(minutes=30),
    )
    PeriodicTask.objects.create(
        name="inventory-expire-reservations",
        task="inventory.tasks.expire_reservations",
        interval=every_minute,
        last_run_at=timezone.now(),
    )

    figure = _figures(client.get("/admin/"))["Late periodic tasks"]
    task_list = client.get(figure.url)

    assert figure.value == "1"
    assert figure.attention
    assert figure.detail.startswith("outbox-sweep 29\xa0minutes late")
    assert figure.detail.endswith(": restart beat")
    assert task_list.status_code == 200
    assert task_list.context["cl"].result_count == 2


def test_sales_report_csv_has_revenue_tax_and_refunds_per_day(client, owner):
    today = timezone.localdate()
    yesterday_noon = timezone.now() - timedelta(days=1)
    PaidOrderFactory(total=Decimal("20.00"), tax=Decimal("3.33"), paid_at=yesterday_noon)
    refunded = PaidOrderFactory(total=Decimal("10.00"), tax=Decimal("1.67"))
    payment = Payment.objects.create(
        order=refunded, provider_charge_id="ch_1", amount=Decimal("10.00"), currency="EUR"
    )
    Refund.objects.create(
        order=refunded,
        payment=payment,
        provider_refund_id="re_1",
        idempotency_key="k1",
        amount=Decimal("4.00"),
    )

    response = client.get(
        "/admin/reports/sales/",
        {
            "start": (today - timedelta(days=1)).isoformat(),
            "end": today.isoformat(),
            "period": "day",
            "format": "csv",
        },
    )

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert rows == [
        ["period_start", "orders", "revenue", "tax", "refunds", "net"],
        [(today - timedelta(days=1)).isoformat(), "1", "20.00", "3.33", "0.00", "20.00"],
        [today.isoformat(), "1", "10.00", "1.67", "4.00", "6.00"],
    ]


def test_sales_report_page_refuses_a_reversed_range(client, owner):
    response = client.get(
        "/admin/reports/sales/", {"start": "2026-02-01", "end": "2026-01-01", "period": "day"}
    )

    assert response.status_code == 200
    assert "The end is before the start." in response.content.decode()


def test_stock_valuation_and_movements_csv(client, owner):
    product = ProductFactory(sku="MUG", price=Decimal("4.50"))
    client.post("/admin/inventory/stockitem/receive/", {"lines": "MUG 10", "reason": "Delivery 42"})
    today = timezone.localdate().isoformat()

    valuation = client.get("/admin/reports/stock-valuation.csv").content.decode()
    movements = client.get(
        "/admin/reports/stock-movements.csv", {"start": today, "end": today}
    ).content.decode()

    assert f"MUG,{product.name},10,4.50,EUR,45.00" in valuation
    assert ",MUG,receipt,10,10,10,," in movements
    assert owner.email in movements


@pytest.mark.parametrize("group", ["Packing staff", "Returns staff"])
def test_staff_other_than_the_owner_see_no_overview_and_no_reports(client, group):
    client.force_login(staff_member(group))

    home = client.get("/admin/")

    assert "overview" not in home.context
    assert client.get("/admin/reports/sales/").status_code == 403
    assert client.get("/admin/reports/stock-valuation.csv").status_code == 403
    assert client.get("/admin/orders/order/").status_code == 403
