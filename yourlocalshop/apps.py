from django.apps import AppConfig


class YourLocalShopConfig(AppConfig):
    name = "yourlocalshop"
    verbose_name = "YourLocalShop"

    def ready(self) -> None:
        from yourlocalshop import checks  # noqa: F401  (registers the deploy checks)
