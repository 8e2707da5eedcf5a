"""Orders, payments, invoices and credit notes in the back office: read-only.

Money and statuses change only through orders' services; the one change staff make here, a
refund, is a button on the order's page with a confirmation page that calls `order_refund`.
"""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from orders import services
from orders.models import (
    IdempotencyKey,
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    Payment,
    PaymentReconciliation,
    Refund,
)
from orders.services.reconciliation import MISMATCH_EXPLAINED
from yourlocalshop.addresses import address_lines
from yourlocalshop.admin import ReadOnlyAdminMixin
from yourlocalshop.errors import DomainError


def _address_html(address) -> str:
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in address_lines(address)))


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "quantity", "unit_price", "line_total", "tax"]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["provider_charge_id", "amount", "currency", "status", "refunded_amount"]


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["provider_refund_id", "amount", "reason", "created_at"]


# A document's name, then its printable page and its PDF.
DOCUMENT_LINKS = (
    '{} <a href="{}" target="_blank" rel="noopener">View / print</a> · <a href="{}">PDF</a>'
)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: every change of an order goes through orders.services."""

    list_display = ["number", "email", "status", "total", "currency", "paid_at", "created_at"]
    list_filter = ["status", "created_at", "paid_at"]
    search_fields = ["number", "email", "id"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, PaymentInline, RefundInline]
    list_select_related = ["user"]
    change_form_template = "admin/orders/order/change_form.html"
    fields = [
        "number",
        "status",
        "email",
        "user",
        "delivery_address",
        "currency",
        "subtotal",
        "shipping",
        "tax",
        "total",
        "refunded_amount",
        "documents",
        "failure_code",
        "payment_check",
        "created_at",
        "paid_at",
        "status_changed_at",
    ]
    readonly_fields = fields

    @admin.display(description="Delivery address")
    def delivery_address(self, order: Order) -> str:
        return _address_html(order.shipping_address)

    @admin.display(description="Invoice and credit notes")
    def documents(self, order: Order) -> str:
        return (
            format_html_join(
                mark_safe("<br>"),
                DOCUMENT_LINKS,
                (
                    (
                        f"{invoice.get_kind_display()} {invoice.number}",
                        reverse("invoice-html", args=[invoice.pk]),
                        reverse("invoice-pdf", args=[invoice.pk]),
                    )
                    for invoice in order.invoices.order_by("issued_at", "pk")
                ),
            )
            or "—"
        )

    def has_refund_permission(self, request) -> bool:
        # The order screens never edit an order, so `change` means "may refund it here".
        return request.user.has_perm("orders.change_order")

    def get_urls(self):
        return [
            path(
                "<uuid:order_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="orders_order_refund",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["can_refund"] = (
            obj is not None
            and obj.refunded_amount < obj.total
            and obj.paid_at is not None
            and self.has_refund_permission(request)
        )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def refund_view(self, request, order_id):
        if not self.has_refund_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        refundable = order.total - order.refunded_amount
        form = RefundForm(
            request.POST if request.method == "POST" else None,
            refundable=refundable,
            initial={"amount": refundable, "idempotency_key": uuid.uuid4().hex},
        )
        if request.method == "POST" and form.is_valid():
            try:
                refund = services.order_refund(
                    order=order,
                    amount=form.cleaned_data["amount"],
                    # One key per confirmation page: a double click refunds once.
                    idempotency_key=f"admin:{form.cleaned_data['idempotency_key']}",
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                self.message_user(request, error.detail, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Refunded {refund.amount} {order.currency} of order {order.number} "
                    f"(provider reference {refund.provider_refund_id}).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        return TemplateResponse(
            request,
            "admin/orders/order/refund.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Refund order {order.number}",
                "opts": self.model._meta,
                "original": order,
                "refundable": refundable,
                "form": form,
                "change_url": change_url,
            },
        )


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(
        max_length=255, help_text="Kept with the refund; say why, for the books and the customer."
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, refundable: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable = refundable
        self.fields["amount"].help_text = f"At most {refundable} can still be refunded."

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount > self.refundable:
            raise forms.ValidationError(f"At most {self.refundable} can still be refunded.")
        return amount


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["sku", "description", "quantity", "unit_price", "net_amount", "tax_amount", "total"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Issued invoices and credit notes never change, so the admin only shows them."""

    list_display = ["number", "kind", "order", "total", "currency", "issued_at", "document"]
    list_filter = ["kind", "year"]
    search_fields = ["number", "order__number", "buyer_email"]
    list_select_related = ["order"]
    inlines = [InvoiceLineInline]
    fields = [
        "number",
        "kind",
        "document",
        "order",
        "credited_invoice",
        "reference",
        "issued_at",
        "seller_name",
        "seller_address",
        "seller_vat_id",
        "buyer_name",
        "buyer_email",
        "buyer_address_formatted",
        "currency",
        "vat_rate",
        "prices_include_tax",
        "net_total",
        "tax_total",
        "total",
    ]
    readonly_fields = fields

    @admin.display(description="Buyer address")
    def buyer_address_formatted(self, invoice: Invoice) -> str:
        return _address_html(invoice.buyer_address)

    @admin.display(description="Document")
    def document(self, invoice: Invoice) -> str:
        """The document as the customer gets it: to view and print, or to download."""
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">View / print</a> · <a href="{}">PDF</a>',
            reverse("invoice-html", args=[invoice.pk]),
            reverse("invoice-pdf", args=[invoice.pk]),
        )


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "caller", "state", "recovery_point", "response_status", "created_at"]
    list_filter = ["state", "recovery_point"]
    search_fields = ["key", "caller"]
    exclude = ["response_body"]


@admin.register(PaymentReconciliation)
class PaymentReconciliationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each run of the payment reconciliation, with every difference it found, what it means
    and the order to open."""

    list_display = ["checked_at", "unresolved", "charges_checked", "payments_checked", "since"]
    date_hierarchy = "checked_at"
    fields = [
        "checked_at",
        "since",
        "charges_checked",
        "payments_checked",
        "unresolved",
        "differences",
    ]
    readonly_fields = fields

    @admin.display(description="Differences")
    def differences(self, run: PaymentReconciliation) -> str:
        if not run.mismatches:
            return "None: every payment and refund matches the provider's."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    "repaired" if mismatch["repaired"] else "needs a person",
                    MISMATCH_EXPLAINED.get(mismatch["kind"], mismatch["kind"]),
                    _order_link(mismatch["order_id"]),
                    mismatch["charge_id"],
                    mismatch["shop_amount"],
                    mismatch["provider_amount"],
                )
                for mismatch in run.mismatches
            ),
        )
        return format_html(
            "<table><thead><tr><th>State</th><th>What it means</th><th>Order</th>"
            "<th>Provider charge</th><th>Shop</th><th>Provider</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )


def _order_link(order_id: str | None) -> str:
    if order_id is None:
        return "no order"
    order = Order.objects.filter(pk=order_id).only("number").first()
    if order is None:
        return order_id
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[order.pk]), order.number
    )
