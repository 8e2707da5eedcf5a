from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from yourlocalshop.backups import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the shop: its database (pg_dump, or SQLite's backup API) and its media files, "
        "in one .tar.gz archive (yourlocalshop.backups)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            type=Path,
            help="Archive to write (default backups/yourlocalshop-<UTC time>.tar.gz).",
        )

    def handle(self, *args, output: Path | None, **options):
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        destination = Path(output) if output else Path("backups") / f"yourlocalshop-{stamp}.tar.gz"
        try:
            summary = backup_create(destination=destination)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up the {summary.vendor} database and {summary.media_files} media "
                f"file(s) to {summary.path}"
            )
        )
