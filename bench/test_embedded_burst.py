"""The embedded shape, started as `make run` starts it, under a burst of guest checkouts."""

import pytest
from django.conf import settings
from embedded_burst import UNITS, run_burst

SHOPPERS = 60


@pytest.mark.slow
@pytest.mark.skipif(
    settings.IS_POSTGRESQL,
    reason="the embedded shape is SQLite whatever the suite's database: the SQLite suite runs it",
)
def test_make_run_answers_every_shopper_of_three_bursts_and_sells_each_unit_once():
    rounds = run_burst(make_target="run", rounds=3, shoppers=SHOPPERS)

    for result in rounds:
        assert result.problems(shoppers=SHOPPERS) == [], (result.sku, dict(result.answers))
        assert result.report == {"orders": UNITS, "on_hand": 0, "ledger_mismatches": []}
        # Each shopper's add is answered; the ten who win a unit are answered 201 at checkout.
        adds = sum(count for label, count in result.answers.items() if label.startswith("add "))
        assert adds == SHOPPERS
        assert result.answers["checkout 201"] == UNITS
