"""Sign up, sign in and sign out pages. Signing in merges the guest cart into the customer's."""

import math

from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.errors import InvalidCredentials
from accounts.forms import SignInForm, SignUpForm
from accounts.throttles import LoginRateThrottle
from carts.api.cookies import cart_cookie_delete
from carts.selectors import cart_id_from_cookie
from carts.services import cart_merge_on_login


def _next_url(request) -> str:
    """Where to go after signing in: the `next` parameter when it is on this site, else home."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


def _throttled(request, form_class):
    """The 429 page when this address used up the API's credential-check throttle (same rate,
    same bucket as the API's register and login, so the pages are no way around it)."""
    throttle = LoginRateThrottle()
    if throttle.allow_request(request, None):
        return None
    template = "accounts/sign_in.html" if form_class is SignInForm else "accounts/sign_up.html"
    response = render(
        request,
        template,
        {"form": form_class(), "next": _next_url(request), "throttled": True},
        status=429,
    )
    response["Retry-After"] = str(math.ceil(throttle.wait()))
    return response


def _sign_in(request, user):
    """Log the user in and bring the guest cart along (through the carts merge service)."""
    guest_cart_id = cart_id_from_cookie(request)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    result = cart_merge_on_login(user=user, guest_cart_id=guest_cart_id)
    if result is not None and result.merged:
        messages.info(request, "We added the items from your guest cart to your account's cart.")
    for cap in result.capped if result is not None else []:
        messages.warning(
            request,
            f"{cap.sku}: your cart now holds {cap.quantity} of the {cap.requested} you wanted "
            f"({cap.reason.label.lower()}).",
        )
    response = redirect(_next_url(request))
    cart_cookie_delete(response)
    return response


@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.method == "POST" and (throttled := _throttled(request, SignUpForm)):
        return throttled
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                full_name=form.cleaned_data["full_name"],
            )
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            messages.success(request, "Welcome! Your account is ready.")
            return _sign_in(request, user)
    return render(request, "accounts/sign_up.html", {"form": form, "next": _next_url(request)})


@require_http_methods(["GET", "POST"])
def sign_in(request):
    if request.method == "POST" and (throttled := _throttled(request, SignInForm)):
        return throttled
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_authenticate(
                request=request,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except InvalidCredentials as error:
            form.add_error(None, error.detail)
        else:
            messages.success(request, "You are signed in.")
            return _sign_in(request, user)
    return render(request, "accounts/sign_in.html", {"form": form, "next": _next_url(request)})


@require_POST
def sign_out(request):
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("catalogue:home")
