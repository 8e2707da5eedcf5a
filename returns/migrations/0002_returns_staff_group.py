"""The `Returns staff` group: whoever is in it (and is staff) handles returns in the admin and API."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Returns staff"
PERMISSIONS = [
    ("returns", "returnrequest", "view_returnrequest"),
    ("returns", "returnrequest", "change_returnrequest"),
    ("returns", "returnrequest", "process_returnrequest"),
    ("returns", "returnline", "view_returnline"),
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the group needs them now.
    returns_config = apps.get_app_config("returns")
    returns_config.models_module = True
    create_permissions(returns_config, apps=apps, verbosity=0)
    returns_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    for app_label, model, codename in PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(
                content_type__app_label=app_label, content_type__model=model, codename=codename
            )
        )


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("returns", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
