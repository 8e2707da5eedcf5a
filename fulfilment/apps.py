from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_packing_staff_group(sender, **kwargs) -> None:
    from fulfilment.services import packing_staff_group_ensure

    packing_staff_group_ensure()


class FulfilmentConfig(AppConfig):
    name = "fulfilment"

    def ready(self) -> None:
        from fulfilment import consumers, pages
        from orders.pages import order_page_section_register
        from yourlocalshop import outbox

        order_page_section_register(pages.order_page_section)

        # The data migration creates the group once; this keeps it after a database flush (the
        # transactional tests) and gives it permissions of models added later.
        post_migrate.connect(_ensure_packing_staff_group, sender=self)

        outbox.register_handler(
            "order_paid",
            consumers.packing_task_from_order_paid,
            consumer=consumers.PACKING_TASK_CONSUMER,
        )
