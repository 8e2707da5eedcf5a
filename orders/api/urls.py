from django.urls import path

from orders.api.views import (
    CheckoutView,
    InvoiceDocumentView,
    OrderDetailView,
    OrderListCreateView,
    OrderLookupView,
)

urlpatterns = [
    path("checkout", CheckoutView.as_view(), name="checkout"),
    path("orders", OrderListCreateView.as_view(), name="order-list"),
    path("orders/lookup", OrderLookupView.as_view(), name="order-lookup"),
    path("orders/<uuid:order_id>", OrderDetailView.as_view(), name="order-detail"),
    path("invoices/<int:invoice_id>", InvoiceDocumentView.as_view(), name="invoice-html"),
    path(
        "invoices/<int:invoice_id>/pdf",
        InvoiceDocumentView.as_view(as_pdf=True),
        name="invoice-pdf",
    ),
]
