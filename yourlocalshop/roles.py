"""Staff roles are Django groups; each app owns its group and keeps it with this one helper."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q


@transaction.atomic
def group_ensure(name: str, *, permissions: Iterable[tuple[str, str]]) -> Group:
    """The group `name` with at least these (app label, codename) permissions; idempotent, so an
    app runs it after every migrate (a test database flush too) for permissions added later."""
    group, _ = Group.objects.get_or_create(name=name)
    wanted = Q(pk__in=[])
    for app_label, codename in permissions:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.add(*Permission.objects.filter(wanted))
    return group
