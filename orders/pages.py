"""Checkout and order pages. The order page also shows what later apps know about the order (its
shipments' tracking numbers, its returns): those apps sit above orders on the dependency ladder, so
each registers a section of the page with `order_page_section_register` in its AppConfig.ready.

Checkout is `orders.services.order_place` under the same idempotency protocol as
`POST /api/orders` (`orders.idempotency`): the form carries a one-time key generated when it was
shown, used as the Idempotency-Key. A double submit, a refresh of the POST or a retry after a
timeout all find that one attempt, so they create one order and one charge. What a page stores as
the attempt's response is a redirect to the confirmation, or the domain error to show.
"""

import json
import uuid
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from carts.errors import DeliveryNotAvailable
from carts.selectors import cart_for_request, cart_id_from_cookie, cart_view
from orders.errors import OrderNotFound
from orders.forms import CheckoutForm, OrderLookupForm
from orders.idempotency import StoredResponse, idempotency_key_validate
from orders.selectors import (
    order_get_for_viewer,
    order_lookup,
    orders_placed_by_user,
    payment_failures_for_user,
)
from orders.services import checkout_answer, checkout_attempt
from yourlocalshop.errors import DomainError

ORDERS_PER_PAGE = 20
# A second submit of the same form waits this long for the first to finish, then shows its result.
IN_PROGRESS_WAIT_SECONDS = 15

# `section(*, request, order) -> dict`: template context the order page adds for a later app.
OrderPageSection = Callable[..., dict]
_order_page_sections: list[OrderPageSection] = []


def order_page_section_register(section: OrderPageSection) -> None:
    if section not in _order_page_sections:
        _order_page_sections.append(section)


def _confirmation_redirect(order) -> StoredResponse:
    return StoredResponse(
        status=303,
        body=b"",
        headers={"Location": reverse("orders:confirmation", args=[order.pk])},
    )


def _refusal_stored(error: DomainError) -> StoredResponse:
    """A refused attempt as the page stores it, for a refresh to show again (`_refusal_detail`)."""
    body = json.dumps({"code": error.code, "detail": error.detail, **error.extra}, default=str)
    return StoredResponse(
        status=error.status, body=body.encode(), headers={"Content-Type": "application/json"}
    )


def _refusal_detail(stored: StoredResponse) -> str:
    return json.loads(stored.body)["detail"]


def _place_order(request, form: CheckoutForm) -> StoredResponse:
    """Run the form's checkout attempt. Returns its stored answer: a redirect to the order's
    confirmation, or (a replay) a refusal stored earlier. A refusal of this very execution is
    stored, then raised as its domain error."""
    attempt = checkout_attempt(
        user=request.user,
        cookie_cart_id=cart_id_from_cookie(request),
        key=idempotency_key_validate(form.cleaned_data["idempotency_key"]),
        path=request.path,
        body=form.api_body(),
        data=form.checkout_data,
        in_progress_wait_seconds=IN_PROGRESS_WAIT_SECONDS,
    )
    if isinstance(attempt, StoredResponse):
        return attempt
    if attempt.error is None:
        return checkout_answer(outcome=attempt, response=_confirmation_redirect(attempt.order))
    checkout_answer(outcome=attempt, response=_refusal_stored(attempt.error))
    raise attempt.error


def _priced_for(request, *, country: str):
    """The cart priced for delivery to the country the form was sent with, so that the next
    submit's expected total is that country's; an estimate when the shop does not deliver there
    (the error shown says so)."""
    cart = cart_for_request(request)
    try:
        return cart_view(cart=cart, country=country)
    except DeliveryNotAvailable:
        return cart_view(cart=cart)


@require_http_methods(["GET", "POST"])
def checkout(request):
    priced = cart_view(cart=cart_for_request(request))
    status = 200
    if request.method == "POST":
        form = CheckoutForm(request.POST, request=request)
        if form.is_valid():
            try:
                answer = _place_order(request, form)
                if answer.status == 303:
                    return redirect(answer.headers["Location"])
                status, detail = answer.status, _refusal_detail(answer)
            except DomainError as error:
                status, detail = error.status, error.detail
            messages.error(request, detail)
            # That attempt is settled (a refresh replays it): another try is a new attempt.
            priced = _priced_for(request, country=form.cleaned_data["country"])
            form = CheckoutForm(
                initial={
                    **form.cleaned_data,
                    "idempotency_key": uuid.uuid4().hex,
                    "expected_total": priced.total,
                },
                request=request,
            )
        else:
            status = 400
    if not priced.lines and status != 400:
        if status == 200:
            messages.info(request, "Your cart is empty: add something before checking out.")
        return redirect("carts:cart")
    if request.method == "GET":
        form = CheckoutForm(initial={"expected_total": priced.total}, request=request)
    return render(
        request,
        "orders/checkout.html",
        {
            "form": form,
            "cart": priced,
            "test_mode": settings.PAYMENT_GATEWAY.endswith("MockPaymentGateway"),
        },
        status=status,
    )


def _order_for_viewer(request, order_id):
    try:
        return order_get_for_viewer(
            order_id=order_id, user=request.user, guest_cart_id=cart_id_from_cookie(request)
        )
    except OrderNotFound as error:
        raise Http404(error.detail) from error


def _signed_out_order_link(view):
    """A signed-out visitor following a link to an order they cannot see (their email's link,
    opened before signing in) is asked to sign in and brought back, not shown a bare 404. Whether
    the order exists is not revealed: every such link asks the same."""

    @wraps(view)
    def wrapper(request, order_id):
        try:
            return view(request, order_id)
        except Http404:
            if request.user.is_authenticated:
                raise
            messages.info(request, "Sign in to see your order.")
            return redirect_to_login(request.get_full_path())

    return wrapper


@require_GET
def order_confirmation(request, order_id):
    return render(
        request,
        "orders/confirmation.html",
        {"order": _order_for_viewer(request, order_id)},
    )


@require_GET
@login_required
def order_history(request):
    page = Paginator(orders_placed_by_user(user=request.user), ORDERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "orders/history.html",
        {
            "page": page,
            "orders": page.object_list,
            "payment_failures": payment_failures_for_user(user=request.user),
        },
    )


def _order_page(request, order, *, status: int = 200):
    context = {"order": order}
    for section in _order_page_sections:
        context.update(section(request=request, order=order))
    return render(request, "orders/detail.html", context, status=status)


@require_GET
@_signed_out_order_link
def order_detail(request, order_id):
    return _order_page(request, _order_for_viewer(request, order_id))


@require_http_methods(["GET", "POST"])
def order_find(request):
    """A guest's order by its number and the email it was placed with. The confirmation email
    links here with both in the query string, so the form comes filled in."""
    form = OrderLookupForm(
        request.POST or None,
        initial={field: request.GET.get(field, "") for field in ("number", "email")},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                order = order_lookup(**form.cleaned_data)
            except OrderNotFound:
                form.add_error(None, "No order with this number was placed with this email.")
                status = 404
            else:
                return _order_page(request, order)
    return render(request, "orders/find.html", {"form": form}, status=status)
