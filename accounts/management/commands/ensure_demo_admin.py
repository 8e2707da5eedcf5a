from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = "Create or update the demo staff user from DEMO_ADMIN_EMAIL / DEMO_ADMIN_PASSWORD."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Also when DEBUG is off (never in production)."
        )

    def handle(self, *args, force: bool, **options):
        if not (settings.DEBUG or force):
            raise CommandError("Refusing to create a demo admin with DEBUG off; pass --force.")
        email = settings.DEMO_ADMIN_EMAIL.lower()
        user = User.objects.filter(email=email).first() or User(email=email)
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(settings.DEMO_ADMIN_PASSWORD)
        user.save()
        self.stdout.write(f"Demo admin ready: {email} (password from DEMO_ADMIN_PASSWORD).")
