"""Random add/update/remove/merge sequences against a model of what the cart must hold."""

from decimal import Decimal

import pytest
from django.conf import settings
from hypothesis import HealthCheck, assume
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from carts.tests.factories import stocked_product

# One generous, one scarce and one sold-out product, so every branch of the rules is reachable.
STOCK_LEVELS = (50, 4, 0)
PRICES = (Decimal("2.50"), Decimal("19.99"), Decimal("7.00"))
quantities = st.one_of(st.integers(min_value=-2, max_value=25), st.sampled_from([1.5, "2", True]))


class CartMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.limit = settings.CART_MAX_QTY_PER_LINE
        self.products = [
            stocked_product(on_hand=on_hand, price=price)
            for on_hand, price in zip(STOCK_LEVELS, PRICES, strict=True)
        ]
        self.stock = {
            product.sku: on_hand
            for product, on_hand in zip(self.products, STOCK_LEVELS, strict=True)
        }
        self.client = APIClient()
        self.client.force_authenticate(UserFactory())
        self.model: dict[str, int] = {}
        # Refreshed by the invariant, which reads the cart after every step.
        self.line_ids: dict[str, int] = {}

    def _is_invalid(self, quantity, *, minimum: int) -> bool:
        """What the API must refuse with 400: anything but a JSON integer in range."""
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            return True
        return not minimum <= quantity <= self.limit

    @rule(index=st.integers(min_value=0, max_value=2), quantity=quantities)
    def add(self, index, quantity):
        sku = self.products[index].sku
        response = self.client.post(
            "/api/cart/items", {"sku": sku, "quantity": quantity}, format="json"
        )
        current = self.model.get(sku, 0)
        if self._is_invalid(quantity, minimum=1):
            assert response.status_code == 400
        elif current + quantity > self.limit:
            assert response.status_code == 422
        elif current + quantity > self.stock[sku]:
            assert response.status_code == 409
            assert response.json()["availability"][0]["available"] == self.stock[sku]
        else:
            assert response.status_code == 201, response.json()
            self.model[sku] = current + quantity

    @rule(index=st.integers(min_value=0, max_value=2), quantity=quantities)
    def update(self, index, quantity):
        sku = self.products[index].sku
        assume(sku in self.model)
        response = self.client.patch(
            f"/api/cart/items/{self.line_ids[sku]}", {"quantity": quantity}, format="json"
        )
        current = self.model[sku]
        if self._is_invalid(quantity, minimum=0):
            assert response.status_code == 400
        elif quantity > current and quantity > self.stock[sku]:
            assert response.status_code == 409
        else:
            assert response.status_code == 200
            if quantity == 0:
                del self.model[sku]
            else:
                self.model[sku] = quantity

    @rule(index=st.integers(min_value=0, max_value=2))
    def remove(self, index):
        sku = self.products[index].sku
        assume(sku in self.model)
        response = self.client.delete(f"/api/cart/items/{self.line_ids[sku]}")
        assert response.status_code == 204
        del self.model[sku]

    @rule(guest_lines=st.dictionaries(st.integers(0, 2), st.integers(1, 20), max_size=3))
    def merge_guest_cart(self, guest_lines):
        guest = APIClient()
        guest_model = {}
        for index, quantity in guest_lines.items():
            sku = self.products[index].sku
            response = guest.post(
                "/api/cart/items", {"sku": sku, "quantity": quantity}, format="json"
            )
            if response.status_code == 201:
                guest_model[sku] = quantity
        assume(guest_model)
        self.client.cookies["cart_id"] = guest.cookies["cart_id"].value

        response = self.client.post("/api/cart/merge")

        assert response.status_code == 200
        assert response.json()["merged"] is True
        capped = {cap["sku"]: cap for cap in response.json()["capped"]}
        for sku, quantity in guest_model.items():
            existing = self.model.get(sku, 0)
            summed = existing + quantity
            merged = max(existing, min(summed, self.limit, self.stock[sku]))
            assert (sku in capped) == (merged != summed)
            self.model[sku] = merged

    @invariant()
    def cart_matches_model(self):
        body = self.client.get("/api/cart").json()
        lines = {line["sku"]: line for line in body["items"]}
        self.line_ids = {sku: line["id"] for sku, line in lines.items()}
        assert {sku: line["quantity"] for sku, line in lines.items()} == self.model
        assert all(1 <= line["quantity"] <= self.limit for line in lines.values())
        assert all(line["quantity"] <= self.stock[sku] for sku, line in lines.items())
        assert body["itemCount"] == sum(self.model.values())
        assert Decimal(body["subtotal"]) == sum(
            (Decimal(line["lineTotal"]) for line in lines.values()), Decimal("0.00")
        )
        for line in lines.values():
            assert Decimal(line["lineTotal"]) == Decimal(line["unitPrice"]) * line["quantity"]


@pytest.mark.django_db
def test_cart_random_operations_keep_cart_consistent():
    run_state_machine_as_test(
        CartMachine,
        settings=hypothesis_settings(
            max_examples=10,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
