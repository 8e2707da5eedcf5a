"""Backups of the whole shop, and their restore: the database and the media files (product images)
in one `.tar.gz` archive.

- PostgreSQL: `pg_dump --format=custom` of the database (schema, rows, sequences), restored by
  `pg_restore` into an empty database. The client tools must be of the server's major version or
  newer (Debian's `postgresql-client`).
- SQLite: a consistent copy through SQLite's backup API, never a copy of the file: in WAL mode the
  latest transactions may still be in `db.sqlite3-wal`, and a write during a file copy tears it.
- Media: every file under MEDIA_ROOT.

A restore refuses a database (or media folder) that already holds something unless `replace` is
given, which drops it first: restoring over a live shop is a decision, not an accident.
`make backup` / `make restore` and the `backup_shop` / `restore_shop` commands call these.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

FORMAT = 1
MANIFEST = "manifest.json"
POSTGRESQL_DUMP = "database.pgdump"
SQLITE_COPY = "database.sqlite3"
MEDIA = "media"


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    vendor: str
    media_files: int


def backup_create(*, destination: Path) -> BackupSummary:
    """Write the archive at `destination` (a `.tar.gz`); returns what it holds."""
    vendor = _vendor()
    media_root = _media_root()
    with tempfile.TemporaryDirectory(prefix="yls-backup-") as work:
        work = Path(work)
        if vendor == "postgresql":
            database_file = work / POSTGRESQL_DUMP
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={database_file}"])  # fmt: skip
        else:
            database_file = work / SQLITE_COPY
            _sqlite_copy(source=Path(connection.settings_dict["NAME"]), target=database_file)
        media_files = sorted(p for p in media_root.rglob("*") if p.is_file()) if media_root else []
        manifest = {
            "format": FORMAT,
            "vendor": vendor,
            "created_at": timezone.now().isoformat(),
            "version": settings.VERSION,
            "media_files": len(media_files),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2))
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(work / MANIFEST, arcname=MANIFEST)
            archive.add(database_file, arcname=database_file.name)
            for media_file in media_files:
                archive.add(media_file, arcname=f"{MEDIA}/{media_file.relative_to(media_root)}")
        partial.replace(destination)  # never a half-written archive under the final name
    return BackupSummary(path=destination, vendor=vendor, media_files=len(media_files))


def backup_restore(*, source: Path, replace: bool = False) -> BackupSummary:
    """Restore the archive at `source` into this shop's database and MEDIA_ROOT. Stop the shop's
    processes first (web, worker, beat): nothing may write while it is restored."""
    vendor = _vendor()
    with tempfile.TemporaryDirectory(prefix="yls-restore-") as work:
        work = Path(work)
        with tarfile.open(source, "r:gz") as archive:
            _extract_safely(archive, into=work)
        manifest = json.loads((work / MANIFEST).read_text())
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{source}: not a YourLocalShop backup of format {FORMAT}.")
        if manifest["vendor"] != vendor:
            raise BackupError(
                f"{source} holds a {manifest['vendor']} database; this shop runs on {vendor}."
            )
        media_root = _media_root()
        media_files = [p for p in (work / MEDIA).rglob("*") if p.is_file()]
        if media_files and not media_root:
            raise BackupError("The backup has media files but MEDIA_ROOT is not set.")
        _make_room(vendor=vendor, media_root=media_root if media_files else None, replace=replace)
        if vendor == "postgresql":
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                  "--single-transaction", f"--dbname={_database_name()}",
                  str(work / POSTGRESQL_DUMP)])  # fmt: skip
        else:
            _sqlite_copy(source=work / SQLITE_COPY, target=Path(connection.settings_dict["NAME"]))
        if media_files:
            shutil.copytree(work / MEDIA, media_root, dirs_exist_ok=True)
    return BackupSummary(path=source, vendor=vendor, media_files=len(media_files))


def _extract_safely(archive: tarfile.TarFile, *, into: Path) -> None:
    """Extract only plain files and folders inside `into`: an archive is input, and a crafted one
    must not write elsewhere (absolute paths, `..`, links, devices)."""
    if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
        try:
            archive.extractall(into, filter="data")
        except tarfile.FilterError as error:
            raise BackupError(f"The archive holds what a backup never does: {error}") from error
        return
    root = into.resolve()
    for member in archive.getmembers():
        inside = (root / member.name).resolve().is_relative_to(root)
        if not inside or not (member.isfile() or member.isdir()):
            raise BackupError(f"The archive holds {member.name!r}, which a backup never does.")
    archive.extractall(into)


def _vendor() -> str:
    if connection.vendor not in {"postgresql", "sqlite"}:  # pragma: no cover - not supported
        raise BackupError(f"No backup for {connection.vendor} databases.")
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in {"", ":memory:"}:
        raise BackupError("An in-memory SQLite database has no file to back up.")
    return connection.vendor


def _media_root() -> Path | None:
    return Path(settings.MEDIA_ROOT) if settings.MEDIA_ROOT else None


def _database_name() -> str:
    return connection.settings_dict["NAME"]


def _run(command: list[str]) -> None:
    """Run a PostgreSQL client tool against this shop's database (libpq reads the PG* variables,
    so the password never shows in a process list)."""
    database = connection.settings_dict
    environment = {
        **os.environ,
        "PGHOST": database.get("HOST") or "",
        "PGPORT": str(database.get("PORT") or ""),
        "PGUSER": database.get("USER") or "",
        "PGPASSWORD": database.get("PASSWORD") or "",
        "PGDATABASE": database["NAME"],
    }
    try:
        finished = subprocess.run(command, env=environment, capture_output=True, text=True)
    except FileNotFoundError as error:
        raise BackupError(
            f"{command[0]} is not installed: install the PostgreSQL client tools "
            "(Debian: postgresql-client) of the server's major version or newer."
        ) from error
    if finished.returncode != 0:
        raise BackupError(f"{command[0]} failed ({finished.returncode}): {finished.stderr.strip()}")


def _sqlite_copy(*, source: Path, target: Path) -> None:
    """Copy one SQLite database into another through the backup API (a consistent snapshot,
    whatever is in the source's WAL)."""
    if not source.exists():
        raise BackupError(f"No SQLite database at {source}.")
    with sqlite3.connect(source) as reader, sqlite3.connect(target) as writer:
        reader.backup(writer)
    reader.close()
    writer.close()


def _make_room(*, vendor: str, media_root: Path | None, replace: bool) -> None:
    tables = connection.introspection.table_names()
    media_taken = media_root is not None and media_root.exists() and any(media_root.iterdir())
    if (tables or media_taken) and not replace:
        raise BackupError(
            "This shop's database or media folder is not empty: restore into an empty one, or "
            "pass --replace to drop what is there first."
        )
    if tables:
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        else:
            database_file = Path(connection.settings_dict["NAME"])
            connection.close()
            for path in (database_file, *(Path(f"{database_file}{s}") for s in ("-wal", "-shm"))):
                path.unlink(missing_ok=True)
    connection.close()  # pg_restore and the SQLite copy work through their own connections
    if media_taken:
        shutil.rmtree(media_root)
