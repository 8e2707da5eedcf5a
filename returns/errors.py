"""Errors of the returns domain, each with a stable `code` for the API."""

from yourlocalshop.errors import DomainError, NotFound


class ReturnNotFound(NotFound):
    code = "return_not_found"
    title = "Return not found."


class OrderNotReturnable(DomainError):
    code = "order_not_returnable"
    status = 422
    title = "This order cannot be returned."


class ReturnWindowClosed(DomainError):
    code = "return_window_closed"
    status = 422
    title = "The return window for this order has closed."


class UnknownOrderLine(DomainError):
    code = "unknown_order_line"
    status = 422
    title = "The order has no line with this SKU."


class ReturnQuantityExceeded(DomainError):
    code = "return_quantity_exceeded"
    status = 422
    title = "More units than can still be returned."


class ReturnLinesInvalid(DomainError):
    """The lines of a receive do not match the lines of the return exactly."""

    code = "return_lines_invalid"
    status = 422
    title = "The lines do not match the return."


class ReturnRefundFailed(DomainError):
    """The payment gateway did not refund; the return stays `received` and can be retried."""

    code = "return_refund_failed"
    status = 502
    title = "The refund could not be issued."
