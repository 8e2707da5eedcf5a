"""Server-rendered customer pages, one include per app (each app's `urls.py`)."""

from django.urls import include, path

urlpatterns = [
    path("", include("catalogue.urls")),
    path("", include("accounts.urls")),
    path("", include("carts.urls")),
    path("", include("orders.page_urls")),
    path("", include("returns.page_urls")),
]
