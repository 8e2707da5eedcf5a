from django.apps import AppConfig


class YourLocalShopConfig(AppConfig):
    name = "yourlocalshop"
    verbose_name = "YourLocalShop"
