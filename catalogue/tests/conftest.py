import pytest

from inventory.enums import MovementReason


@pytest.fixture
def set_stock():
    """Set a product's stock the way the shop does: through inventory's service."""
    from inventory import services as inventory_services

    def set_stock(product, on_hand: int) -> None:
        inventory_services.stock_set_on_hand(
            product=product, on_hand=on_hand, kind=MovementReason.SEED
        )

    return set_stock
