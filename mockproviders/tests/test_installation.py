import json
import os
import subprocess
import sys

from django.conf import settings

PROBE = """
import json, django
django.setup()
from django.apps import apps
from django.db.migrations.loader import MigrationLoader
state = MigrationLoader(None, ignore_no_migrations=True).project_state()
print(json.dumps({
    "installed": apps.is_installed("mockproviders"),
    "mock_models": sorted(f"{app}.{model}" for app, model in state.models if "mock" in model),
}))
"""


def _probe(**environment) -> dict:
    """What a process started with these settings installs and what its migrations build."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "yourlocalshop.settings", **environment},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_a_shop_with_real_providers_has_no_mock_tables():
    probe = _probe(PAYMENT_GATEWAY="shop.payments.Provider", COURIER_GATEWAY="shop.courier.Courier")

    assert probe == {"installed": False, "mock_models": []}


def test_a_mock_provider_brings_the_mock_ledgers_in_their_own_app():
    probe = _probe(
        PAYMENT_GATEWAY="shop.payments.Provider",
        COURIER_GATEWAY="mockproviders.courier.MockCourierGateway",
    )

    assert probe == {
        "installed": True,
        "mock_models": [
            "mockproviders.mockcharge",
            "mockproviders.mockcourierbooking",
            "mockproviders.mockrefund",
        ],
    }
