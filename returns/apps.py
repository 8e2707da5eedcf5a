from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_returns_staff_group(sender, **kwargs) -> None:
    from returns.services import returns_staff_group_ensure

    returns_staff_group_ensure()


class ReturnsConfig(AppConfig):
    name = "returns"

    def ready(self) -> None:
        from orders.pages import order_page_section_register
        from returns import consumers, pages, services
        from yourlocalshop import outbox

        order_page_section_register(pages.order_page_section)

        # The data migration creates the group once; this keeps it after a database flush (the
        # transactional tests) and gives it permissions of models added later.
        post_migrate.connect(_ensure_returns_staff_group, sender=self)

        outbox.register_handler(
            services.RETURN_STATUS_CHANGED,
            consumers.customer_email_on_return_status,
            consumer=consumers.CUSTOMER_EMAIL_CONSUMER,
        )
