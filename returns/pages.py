"""The customer's return request page, on `returns.services.return_request_create`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from orders.enums import RETURNABLE_ORDER_STATUSES
from orders.errors import OrderNotFound
from returns.forms import ReturnRequestForm
from returns.selectors import order_get_for_user, returns_for_order
from returns.services import return_request_create
from yourlocalshop.errors import DomainError


def order_page_section(*, request, order) -> dict:
    """The order page's returns: those requested, and whether its owner may request one."""
    return {
        "returns": returns_for_order(order=order),
        "can_request_return": (
            order.user_id is not None
            and order.user_id == request.user.pk
            and order.status in RETURNABLE_ORDER_STATUSES
        ),
    }


@login_required
@require_http_methods(["GET", "POST"])
def return_request(request, order_id):
    try:
        order = order_get_for_user(order_id=order_id, user=request.user)
    except OrderNotFound as error:
        raise Http404(error.detail) from error
    form = ReturnRequestForm(request.POST or None, order=order)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                return_request = return_request_create(
                    order=order, lines=form.return_lines(), note=form.cleaned_data["note"]
                )
            except DomainError as error:
                form.add_error(None, error.detail)
                status = error.status
            else:
                messages.success(
                    request,
                    f"Return {return_request.rma_number} is requested. We will email you the "
                    "next steps.",
                )
                return redirect("orders:detail", order_id=order.pk)
    return render(request, "returns/request.html", {"order": order, "form": form}, status=status)
