from django.urls import path

from returns import pages

app_name = "returns"

urlpatterns = [
    path("orders/<uuid:order_id>/return/", pages.return_request, name="request"),
]
