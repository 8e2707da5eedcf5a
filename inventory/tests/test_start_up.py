"""`make run` started again on a shop that has traded leaves its data alone."""

import re
import shlex
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from catalogue.models import Product
from inventory.models import StockItem, StockMovement

MAKEFILE = Path(settings.BASE_DIR) / "Makefile"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "Hometown",
    "postcode": "HT1 2AB",
    "country": "GB",
}


def start_up_commands(target: str = "run") -> list[list[str]]:
    """The `manage.py` commands `make <target>` runs before it serves, as make itself expands
    the recipe (`make -n`: printed, not run), so that this test follows any change to it."""
    recipe = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=MAKEFILE.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    commands = [
        shlex.split(words)
        for words in re.findall(r"manage\.py ([^;)\n]+)", recipe)
        if words.split()[0] not in ("runserver", "collectstatic")
    ]
    assert [words[0] for words in commands][:2] == ["prepare_database", "seed_products"]
    return commands


def start_up() -> None:
    for name, *arguments in start_up_commands():
        call_command(name, *arguments)


def test_make_runserver_prepares_the_shop_as_make_run_does():
    """A first start on Django's development server shows the products with their pictures."""
    commands = start_up_commands("run")

    assert start_up_commands("runserver") == commands
    assert ["make_sample_images"] in commands


@pytest.mark.django_db
def test_make_run_twice_keeps_stock_prices_and_ledger_of_a_trading_shop(client, settings):
    settings.DEBUG = True  # as make run: the demo admin is made only then
    start_up()
    product = Product.objects.filter(is_active=True, stock_item__on_hand__gte=3).first()
    on_hand = StockItem.objects.get(product=product).on_hand
    client.post("/api/cart/items", {"sku": product.sku, "quantity": 2}, "application/json")
    paid = client.post(
        "/api/orders",
        {"email": "ada@example.com", "shippingAddress": ADDRESS, "paymentToken": "tok_success"},
        "application/json",
        headers={"Idempotency-Key": "restart-1"},
    )
    assert paid.status_code == 201, paid.content
    product.price = Decimal("6.49")  # as the admin's change form saves it
    product.save()
    before = (
        list(Product.objects.order_by("pk").values_list("sku", "price", "updated_at")),
        list(StockItem.objects.order_by("pk").values_list("product_id", "on_hand", "reserved")),
        list(StockMovement.objects.order_by("pk").values_list("pk", "delta")),
    )
    assert StockItem.objects.get(product=product).on_hand == on_hand - 2

    start_up()

    after = (
        list(Product.objects.order_by("pk").values_list("sku", "price", "updated_at")),
        list(StockItem.objects.order_by("pk").values_list("product_id", "on_hand", "reserved")),
        list(StockMovement.objects.order_by("pk").values_list("pk", "delta")),
    )
    assert after == before
