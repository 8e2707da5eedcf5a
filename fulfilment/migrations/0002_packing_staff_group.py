from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Packing staff"
PERMISSIONS = [
    "view_packingtask",
    "change_packingtask",
    "view_packingtaskline",
    "view_fulfilmentbatch",
    "add_fulfilmentbatch",
    "change_fulfilmentbatch",
    "view_shipment",
    "change_shipment",
    "view_shipmentevent",
]


def create_packing_staff_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the group needs them now.
    app_config = apps.get_app_config("fulfilment")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="fulfilment", codename__in=PERMISSIONS)
    )


def remove_packing_staff_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("fulfilment", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_packing_staff_group, remove_packing_staff_group)]
