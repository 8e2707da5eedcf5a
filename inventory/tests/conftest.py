import pytest

from inventory.tests.factories import StockItemFactory


@pytest.fixture
def stocked():
    """`stocked(on_hand)` → a product with that many units on hand."""

    def make(on_hand: int = 10):
        return StockItemFactory(on_hand=on_hand).product

    return make
