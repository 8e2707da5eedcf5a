from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from catalogue import stock
        from inventory import metrics, selectors

        stock.availability_reader_register(selectors.available_by_product_id)
        metrics.register()
