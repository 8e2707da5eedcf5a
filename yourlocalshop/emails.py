"""Customer emails: one message, rendered from templates as plain text and HTML.

Every app that writes to customers sends through `customer_email_send`, so each email carries
the shop's name, address and contact details (settings) the same way. The caller decides when to
send (orders on `order_paid`, returns on a return's status, fulfilment on a booked shipment) and
makes that step run once; the stable Message-ID lets a mailbox recognise the one duplicate a
crash between the mail server's acceptance and the caller's commit could still cause.
"""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def shop_details() -> dict[str, str]:
    return {
        "name": settings.SHOP_NAME,
        "address": settings.SHOP_SELLER_ADDRESS,
        "email": settings.SHOP_CONTACT_EMAIL,
        "phone": settings.SHOP_CONTACT_PHONE,
        "url": settings.SHOP_URL,
    }


def absolute_url(path: str) -> str:
    """A shop path as a link a customer can follow from their mailbox (`SHOP_URL` + path)."""
    return f"{settings.SHOP_URL}{path}"


def customer_email_send(
    *, template: str, context: dict[str, Any], to: str, message_key: str
) -> EmailMultiAlternatives:
    """Render `<template>_subject.txt`, `<template>.txt` and `<template>.html` and send them as
    one message to `to`. `message_key` names the message for good (e.g. `order-confirmation-<id>`)
    and becomes its Message-ID. Raises what the email backend raises: the caller's retry sends it.
    """
    context = {**context, "shop": shop_details()}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.SHOP_CONTACT_EMAIL],
        headers={"Message-ID": f"<{message_key}@{_mail_domain()}>"},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()
    return message


def _mail_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
