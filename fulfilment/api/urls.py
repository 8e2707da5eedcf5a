from django.urls import path

from fulfilment.api import views

urlpatterns = [
    path("admin/packing-tasks", views.PackingTaskListView.as_view(), name="packing-task-list"),
    path(
        "admin/packing-tasks/<int:packing_task_id>",
        views.PackingTaskDetailView.as_view(),
        name="packing-task-detail",
    ),
    path(
        "admin/packing-tasks/<int:packing_task_id>/start",
        views.PackingTaskStartView.as_view(),
        name="packing-task-start",
    ),
    path(
        "admin/packing-tasks/<int:packing_task_id>/packed",
        views.PackingTaskPackedView.as_view(),
        name="packing-task-packed",
    ),
    path(
        "admin/packing-tasks/<int:packing_task_id>/scan",
        views.PackingTaskScanView.as_view(),
        name="packing-task-scan",
    ),
    path(
        "admin/fulfilment-batches",
        views.FulfilmentBatchCreateView.as_view(),
        name="fulfilment-batch-create",
    ),
    path(
        "admin/fulfilment-batches/<int:batch_id>",
        views.FulfilmentBatchDetailView.as_view(),
        name="fulfilment-batch-detail",
    ),
    path("webhooks/courier", views.CourierWebhookView.as_view(), name="courier-webhook"),
    path(
        "orders/<uuid:order_id>/shipments",
        views.OrderShipmentsView.as_view(),
        name="order-shipments",
    ),
]
