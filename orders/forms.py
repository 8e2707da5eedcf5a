"""The checkout form. It renders and collects the fields; the rules (email for guests, address
shape, country code, token length) are the API's `OrderCreateInputSerializer`, run in `clean()`."""

import uuid

from django import forms
from django.conf import settings

from carts.selectors import delivery_country_choices
from orders.api.serializers import OrderCreateInputSerializer

# The mock gateway's scenarios, worded for a tester choosing one (test mode only).
TEST_PAYMENT_TOKENS = [
    ("tok_success", "Card accepted", "The payment succeeds."),
    ("tok_decline", "Card declined", "The bank refuses the payment."),
    ("tok_insufficient_funds", "Insufficient funds", "The bank refuses: not enough money."),
    ("tok_transient_2", "Flaky provider", "Two temporary errors, then success (retried)."),
    ("tok_down", "Provider down", "The provider is unreachable; nothing is charged."),
    ("tok_slow", "Slow provider", "The payment succeeds after a delay."),
]
ADDRESS_FIELDS = ["name", "line1", "line2", "city", "postcode", "country"]


class CheckoutForm(forms.Form):
    # One checkout attempt: generated when the form is shown and sent as the Idempotency-Key, so a
    # double submit or a refresh of the POST finds the same attempt instead of a second order.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)
    # The total the customer saw; checkout refuses to charge a different one (`price_changed`).
    expected_total = forms.DecimalField(widget=forms.HiddenInput, max_digits=12, decimal_places=2)
    email = forms.EmailField(
        label="Email for the receipt",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We send the order confirmation here.",
    )
    name = forms.CharField(
        label="Full name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    line1 = forms.CharField(
        label="Address", widget=forms.TextInput(attrs={"autocomplete": "address-line1"})
    )
    line2 = forms.CharField(
        label="Address line 2",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label="Town or city", widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    postcode = forms.CharField(
        label="Postcode", widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    # Full names, the ISO code as the value (what the API takes); only where the shop delivers.
    country = forms.ChoiceField(
        choices=delivery_country_choices,
        error_messages={"invalid_choice": "Sorry, we do not deliver to this country."},
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )
    payment_token = forms.ChoiceField(
        label="Test payment outcome",
        choices=[
            (token, f"{label}: {description}") for token, label, description in TEST_PAYMENT_TOKENS
        ],
        initial="tok_success",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        user = request.user
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            self.initial.setdefault("country", settings.SHOP_COUNTRY)
        if user.is_authenticated:
            # Signed-in customers get the receipt at their account's address.
            del self.fields["email"]
            self.initial.setdefault("name", user.full_name)

    def clean(self):
        cleaned_data = super().clean()
        if self.errors:
            return cleaned_data
        serializer = OrderCreateInputSerializer(
            data=self.api_body(), context={"request": self.request}
        )
        if not serializer.is_valid():
            for field, messages in serializer.errors.items():
                if field == "shippingAddress":
                    for address_field, address_messages in messages.items():
                        self.add_error(address_field, address_messages)
                else:
                    name = {"paymentToken": "payment_token"}.get(field, field)
                    self.add_error(name if name in self.fields else None, messages)
            return cleaned_data
        self.checkout_data = serializer.validated_data
        return cleaned_data

    def address_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ADDRESS_FIELDS]

    def api_body(self) -> dict:
        """The request as the API would receive it: what the idempotency fingerprint covers."""
        data = self.cleaned_data
        body = {
            "shippingAddress": {field: data[field] for field in ADDRESS_FIELDS if data[field]},
            "paymentToken": data["payment_token"],
            "expectedTotal": str(data["expected_total"]),
        }
        if "email" in self.fields:
            body["email"] = data["email"]
        return body


class OrderLookupForm(forms.Form):
    number = forms.CharField(
        label="Order number",
        max_length=20,
        help_text="It starts with YLS- and is in your confirmation email.",
    )
    email = forms.EmailField(
        label="Email used for the order", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
