from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = "Migrate the database; with RESET_DB=1 (or --reset) drop everything first."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Drop and recreate first.")

    def handle(self, *args, reset: bool, **options):
        if reset or settings.RESET_DB:
            self._drop_everything()
        call_command("migrate", interactive=False, verbosity=options["verbosity"])

    def _drop_everything(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        elif connection.vendor == "sqlite":
            database_file = Path(connection.settings_dict["NAME"])
            connection.close()
            database_file.unlink(missing_ok=True)
        else:  # pragma: no cover - only PostgreSQL and SQLite are supported
            raise NotImplementedError(connection.vendor)
        self.stdout.write(self.style.WARNING("RESET_DB: database dropped."))
