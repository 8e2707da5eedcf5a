from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from orders import consumers
        from yourlocalshop import outbox

        outbox.register_handler(
            "order_paid",
            consumers.confirmation_email_on_order_paid,
            consumer=consumers.CONFIRMATION_EMAIL_CONSUMER,
        )
