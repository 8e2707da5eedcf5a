from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from orders import consumers
        from orders.services.reconciliation import payments_reconciliation_status
        from yourlocalshop import outbox
        from yourlocalshop.api.health import health_detail_register

        health_detail_register("payments", payments_reconciliation_status)

        outbox.register_handler(
            "order_paid",
            consumers.confirmation_email_on_order_paid,
            consumer=consumers.CONFIRMATION_EMAIL_CONSUMER,
        )
