"""Checkout and order pages (placeholder until orders.services lands)."""

from django.http import HttpResponse


def checkout(request):
    return HttpResponse("")


order_history = order_detail = order_confirmation = checkout
