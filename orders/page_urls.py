from django.urls import path

from orders import pages

app_name = "orders"

urlpatterns = [
    path("checkout/", pages.checkout, name="checkout"),
    path("orders/", pages.order_history, name="history"),
    path("orders/find/", pages.order_find, name="find"),
    path("orders/<uuid:order_id>/", pages.order_detail, name="detail"),
    path("orders/<uuid:order_id>/confirmation/", pages.order_confirmation, name="confirmation"),
]
