"""Email configuration (console by default, EMAIL_URL or Django's keys for SMTP) and the shared
customer email: plain text + HTML with the shop's details."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core import mail

from yourlocalshop.emails import customer_email_send

SETTINGS_KEYS = [
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
]


def _email_settings(**environment) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{key: getattr(settings, key) for key in {SETTINGS_KEYS!r}}}))"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("EMAIL_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(DJANGO_SETTINGS_MODULE="yourlocalshop.settings", **environment)
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_emails_go_to_the_console_by_default():
    assert _email_settings()["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_email_url_selects_an_smtp_server():
    configured = _email_settings(EMAIL_URL="smtp+tls://shop:s3cret@mail.example.com:587")

    assert configured == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "shop",
        "EMAIL_HOST_PASSWORD": "s3cret",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }


def test_django_email_keys_select_an_smtp_server_without_email_url():
    configured = _email_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="relay.example.com",
        EMAIL_PORT="465",
        EMAIL_USE_SSL="1",
    )

    assert configured["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (configured["EMAIL_HOST"], configured["EMAIL_PORT"]) == ("relay.example.com", 465)
    assert configured["EMAIL_USE_SSL"] is True


@pytest.mark.django_db
def test_customer_email_has_text_and_html_with_the_shop_details(settings):
    settings.SHOP_NAME = "Corner Shop"
    settings.SHOP_SELLER_ADDRESS = "3 Market Square, Hometown"
    settings.SHOP_CONTACT_EMAIL = "hello@corner.example"
    settings.SHOP_CONTACT_PHONE = "+44 1234 567890"
    settings.SHOP_URL = "https://corner.example"

    customer_email_send(
        template="fulfilment/email/shipped",
        context={
            "order": {"number": "YLS-1", "shipping_address": {"name": "Zoë"}},
            "shipment": {"carrier": "MockParcel", "tracking_number": "TRK-1"},
            "order_url": "https://corner.example/orders/find/",
        },
        to="zoe@example.com",
        message_key="shipment-1-shipped",
    )

    [message] = mail.outbox
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert message.reply_to == ["hello@corner.example"]
    assert message.extra_headers["Message-ID"] == "<shipment-1-shipped@yourlocalshop.local>"
    for text in (message.body, html):
        assert "Hello Zoë," in text
        assert "TRK-1" in text
        for detail in ("Corner Shop", "3 Market Square, Hometown", "hello@corner.example"):
            assert detail in text
        assert "+44 1234 567890" in text
