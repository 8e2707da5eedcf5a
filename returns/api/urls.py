from django.urls import path

from returns.api import views

urlpatterns = [
    path("returns", views.CustomerReturnsView.as_view(), name="returns"),
    path(
        "returns/<uuid:return_id>",
        views.CustomerReturnDetailView.as_view(),
        name="return-detail",
    ),
    path("admin/returns", views.StaffReturnsView.as_view(), name="admin-returns"),
    path(
        "admin/returns/<uuid:return_id>",
        views.StaffReturnDetailView.as_view(),
        name="admin-return-detail",
    ),
    path(
        "admin/returns/<uuid:return_id>/approve",
        views.StaffReturnApproveView.as_view(),
        name="admin-return-approve",
    ),
    path(
        "admin/returns/<uuid:return_id>/reject",
        views.StaffReturnRejectView.as_view(),
        name="admin-return-reject",
    ),
    path(
        "admin/returns/<uuid:return_id>/cancel",
        views.StaffReturnCancelView.as_view(),
        name="admin-return-cancel",
    ),
    path(
        "admin/returns/<uuid:return_id>/receive",
        views.StaffReturnReceiveView.as_view(),
        name="admin-return-receive",
    ),
    path(
        "admin/returns/<uuid:return_id>/retry-refund",
        views.StaffReturnRetryRefundView.as_view(),
        name="admin-return-retry-refund",
    ),
]
