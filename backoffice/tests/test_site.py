import pytest
from django.contrib.auth.models import Group

from accounts.tests.factories import UserFactory, staff_member

pytestmark = pytest.mark.django_db


def test_admin_header_shows_the_shop_name_and_release(client, settings):
    settings.SHOP_NAME = "Corner Bakery"
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get("/admin/").content.decode()

    assert f"Corner Bakery · version {settings.VERSION}" in page
    assert "Django administration" not in page


def test_shop_owner_group_has_money_and_stock_but_never_deletes():
    permissions = set(
        Group.objects.get(name="Shop owner").permissions.values_list("codename", flat=True)
    )

    assert {"view_overview", "view_reports", "view_order", "view_invoice"} <= permissions
    assert not any(codename.startswith("delete_") for codename in permissions)


def test_home_links_each_role_to_its_desk(client):
    packer = staff_member("Packing staff")
    clerk = staff_member("Returns staff")

    client.force_login(packer)
    packer_home = client.get("/admin/").content.decode()
    client.force_login(clerk)
    clerk_home = client.get("/admin/").content.decode()

    assert "/admin/fulfilment/packingtask/station/" in packer_home
    assert "Returns desk" not in packer_home
    assert "Returns desk" in clerk_home
    assert "Packing station" not in clerk_home


def test_the_owners_home_links_the_supplier_file_import(client):
    owner = staff_member("Shop owner")
    packer = staff_member("Packing staff")

    client.force_login(owner)
    owner_home = client.get("/admin/").content.decode()
    client.force_login(packer)
    packer_home = client.get("/admin/").content.decode()

    assert 'href="/admin/inventory/stockitem/supplier-import/"' in owner_home
    assert client.get("/admin/inventory/stockitem/supplier-import/").status_code == 403
    assert "supplier-import" not in packer_home
    client.force_login(owner)
    assert client.get("/admin/inventory/stockitem/supplier-import/").status_code == 200
