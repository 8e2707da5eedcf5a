"""Cart pages: view the cart, add a product, change a quantity, remove a line.

Writes go through `carts.services`; a refused change (stock, line limit, product gone) is shown
as a message carrying the domain error's `detail`, and the visitor lands back on the cart.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from carts import services
from carts.api.cookies import cart_cookie_set
from carts.forms import CartItemAddForm, CartItemUpdateForm
from carts.selectors import cart_for_request, cart_stock_warnings, cart_view
from yourlocalshop.errors import DomainError


def _first_error(form) -> str:
    field, errors = next(iter(form.errors.items()))
    return f"{form.fields[field].label or field.capitalize()}: {errors[0]}"


def _validation_message(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_GET
def cart_detail(request):
    priced = cart_view(cart=cart_for_request(request))
    priced.warnings.extend(cart_stock_warnings(priced=priced))
    return render(
        request,
        "carts/cart.html",
        {"cart": priced, "max_quantity": settings.CART_MAX_QTY_PER_LINE},
    )


@require_POST
def cart_add(request):
    form = CartItemAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("carts:cart")
    sku = form.cleaned_data["sku"]
    try:
        item, is_guest = services.cart_item_add_for_request(
            request=request, sku=sku, quantity=form.cleaned_data["quantity"]
        )
    except DomainError as error:
        messages.error(request, error.detail)
        return redirect(reverse("catalogue:product_detail", args=[sku]))
    except ValidationError as error:
        messages.error(request, _validation_message(error))
        return redirect(reverse("catalogue:product_detail", args=[sku]))
    messages.success(request, f"Added {item.product.name} to your cart.")
    response = redirect("carts:cart")
    if is_guest:
        cart_cookie_set(response, cart=item.cart)
    return response


@require_POST
def cart_item_update(request, item_id: int):
    form = CartItemUpdateForm(request.POST)
    cart = cart_for_request(request)
    if not form.is_valid():
        messages.error(request, _first_error(form))
    elif cart is None:
        messages.error(request, "This item is not in your cart.")
    else:
        try:
            item = services.cart_item_update(
                cart=cart, item_id=item_id, quantity=form.cleaned_data["quantity"]
            )
        except DomainError as error:
            messages.error(request, error.detail)
        except ValidationError as error:
            messages.error(request, _validation_message(error))
        else:
            messages.success(
                request, "Removed the item." if item is None else "Updated the quantity."
            )
    return redirect("carts:cart")


@require_POST
def cart_item_remove(request, item_id: int):
    cart = cart_for_request(request)
    if cart is None:
        messages.error(request, "This item is not in your cart.")
        return redirect("carts:cart")
    try:
        services.cart_item_remove(cart=cart, item_id=item_id)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, "Removed the item.")
    return redirect("carts:cart")
