from decimal import Decimal

from django.test import RequestFactory

from yourlocalshop.templatetags.shop import money, query_with


def test_money_uses_shop_currency_symbol_and_two_decimals(settings):
    settings.SHOP_CURRENCY = "EUR"

    assert money(Decimal("12.5")) == "€12.50"
    assert money(Decimal("1234.565")) == "€1,234.57"
    assert money("0") == "€0.00"


def test_money_prefers_the_amounts_own_currency_and_falls_back_to_the_code():
    assert money(Decimal("3.10"), "GBP") == "£3.10"
    assert money(Decimal("3.10"), "chf") == "3.10 CHF"
    assert money(Decimal("-2.00"), "EUR") == "-€2.00"


def test_money_renders_nothing_for_missing_or_bad_amounts():
    assert money(None) == ""
    assert money("") == ""
    assert money("not a number") == ""


def test_query_with_keeps_filters_and_replaces_or_drops_parameters():
    request = RequestFactory().get("/products/", {"q": "tea", "page": "2", "sort": "price"})

    assert query_with({"request": request}, page=3) == "q=tea&sort=price&page=3"
    assert query_with({"request": request}, page=None) == "q=tea&sort=price"
