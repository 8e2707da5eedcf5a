"""Order writes. Import from here: `orders.services.order_place`, `order_refund`, ...

Split by workflow: `checkout` (placing an order), `execution` (one idempotent checkout attempt,
for the API and the checkout page), `lifecycle` (fulfilment moves and refunds), `invoices`
(invoices and credit notes), `notifications` (customer emails).
"""

from orders.services.checkout import (
    CheckoutRequest,
    checkout_settle_abandoned,
    checkouts_abandoned,
    order_place,
)
from orders.services.execution import CheckoutOutcome, checkout_answer, checkout_attempt
from orders.services.invoices import CreditNoteLineRequest, credit_note_issue, invoice_issue
from orders.services.lifecycle import (
    order_mark_delivered,
    order_mark_packing,
    order_mark_shipped,
    order_refund,
)
from orders.services.notifications import order_confirmation_send, order_page_url

__all__ = [
    "CheckoutOutcome",
    "CheckoutRequest",
    "CreditNoteLineRequest",
    "checkout_answer",
    "checkout_attempt",
    "checkout_settle_abandoned",
    "checkouts_abandoned",
    "credit_note_issue",
    "invoice_issue",
    "order_confirmation_send",
    "order_mark_delivered",
    "order_mark_packing",
    "order_mark_shipped",
    "order_page_url",
    "order_place",
    "order_refund",
]
