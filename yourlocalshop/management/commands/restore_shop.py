from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yourlocalshop.backups import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup_shop archive into this shop's (empty) database and media folder. Stop "
        "the web server, workers and beat first."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="The .tar.gz written by backup_shop.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Drop the database's tables and the media files already there first.",
        )

    def handle(self, *args, archive: Path, replace: bool, **options):
        try:
            summary = backup_restore(source=Path(archive), replace=replace)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the {summary.vendor} database and {summary.media_files} media "
                f"file(s) from {summary.path}"
            )
        )
