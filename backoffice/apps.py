from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_shop_owner_group(sender, **kwargs) -> None:
    from backoffice.roles import shop_owner_group_ensure

    shop_owner_group_ensure()


class BackOfficeConfig(AppConfig):
    """The shop's back office: the admin site, the owner's overview and the reports.

    It sits above every other app (it reads from all of them); nothing imports it.
    """

    default = True
    name = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        # After every migrate (and a test database flush): the group keeps the permissions of
        # models added later, like the packing and returns groups.
        post_migrate.connect(_ensure_shop_owner_group, sender=self)
