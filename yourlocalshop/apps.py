from django.apps import AppConfig


class YourLocalShopConfig(AppConfig):
    name = "yourlocalshop"
    verbose_name = "YourLocalShop"

    def ready(self) -> None:
        # Importing these registers the deploy checks, and the outbox's tasks (delivery, sweep)
        # with Celery: the platform owns its outbox.
        from yourlocalshop import checks, outbox, state_metrics  # noqa: F401

        state_metrics.register()
