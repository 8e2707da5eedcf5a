from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from yourlocalshop.api.health import HealthView, LivenessView, ReadinessView
from yourlocalshop.metrics import metrics_view
from yourlocalshop.views import api_not_found, media

# The catalogue first, and the API before the admin: its public reads are most of the traffic, and
# URLs resolve in order.
api_patterns = [
    path("", include("catalogue.api.urls")),
    path("health", HealthView.as_view(), name="health"),
    path("health/live", LivenessView.as_view(), name="health-live"),
    path("health/ready", ReadinessView.as_view(), name="health-ready"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path(
        "redoc",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    path("", include("accounts.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("carts.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("fulfilment.api.urls")),
    path("", include("returns.api.urls")),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.+)$", media, name="media"),
    # Routed, not left to handler404: with DEBUG=1 Django answers an unmatched path with its HTML
    # debug page, which no API client can read.
    re_path(r"^api/", api_not_found),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("", include("yourlocalshop.storefront_urls")),
]

handler404 = "yourlocalshop.views.page_not_found"
handler500 = "yourlocalshop.views.server_error"
