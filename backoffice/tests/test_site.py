import pytest
from django.contrib.auth.models import Group

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_header_shows_the_shop_name(client, settings):
    settings.SHOP_NAME = "Corner Bakery"
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get("/admin/").content.decode()

    assert "Corner Bakery" in page
    assert "Django administration" not in page


def test_shop_owner_group_has_money_and_stock_but_never_deletes():
    permissions = set(
        Group.objects.get(name="Shop owner").permissions.values_list("codename", flat=True)
    )

    assert {"view_overview", "view_reports", "view_order", "view_invoice"} <= permissions
    assert not any(codename.startswith("delete_") for codename in permissions)
