"""A backup is only a backup once it has been restored: back up a trading shop, restore it into an
empty database, and find every order, invoice number, counter, stock level and ledger row."""

import contextlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from inventory.enums import MovementReason
from inventory.models import StockItem, StockMovement
from inventory.selectors import stock_ledger_mismatches
from inventory.services import stock_set_on_hand
from orders.models import DocumentCounter, Invoice, Order
from orders.tests.factories import ADDRESS, stocked_product
from yourlocalshop.backups import BackupError, _extract_safely

ROOT = Path(__file__).resolve().parents[2]


def shop_fingerprint() -> dict:
    """What a restore must give back exactly (also run in the restored shop's process)."""
    return {
        "orders": sorted(
            [order.number, order.status, str(order.total), order.email]
            for order in Order.objects.all()
        ),
        "invoices": sorted(Invoice.objects.values_list("number", flat=True)),
        "counters": sorted(
            [counter.series, counter.year, counter.last_number]
            for counter in DocumentCounter.objects.all()
        ),
        "stock": sorted(
            [item.product.sku, item.on_hand, item.reserved]
            for item in StockItem.objects.select_related("product")
        ),
        "ledger": sorted(
            [movement.stock_item.product.sku, movement.reason, movement.delta]
            for movement in StockMovement.objects.select_related("stock_item__product")
        ),
        "ledger_mismatches": [item.product.sku for item in stock_ledger_mismatches()],
    }


def _trade(count: int) -> None:
    """Products with stock from the ledger, and guests buying them through the API."""
    for index in range(count):
        product = stocked_product(on_hand=0, sku=f"BACKUP-{index}")
        stock_set_on_hand(product=product, on_hand=10, kind=MovementReason.SEED)
        guest = APIClient()
        added = guest.post("/api/cart/items", {"sku": product.sku, "quantity": 2}, format="json")
        assert added.status_code == 201, added.content
        placed = guest.post(
            "/api/orders",
            {"email": f"guest{index}@example.com", "shippingAddress": ADDRESS,
             "paymentToken": "tok_success"},
            format="json",
            headers={"Idempotency-Key": f"backup-test-{index}"},
        )  # fmt: skip
        assert placed.status_code == 201, placed.content


def _restore_elsewhere(archive: Path, *, database_url: str, media_root: Path) -> dict:
    """`restore_shop` in a process of its own against another database and media folder, then
    that shop's fingerprint."""
    script = (
        "import json, sys\n"
        "from django.conf import settings\n"
        f"settings.MEDIA_ROOT = {str(media_root)!r}\n"
        "from django.core.management import call_command\n"
        f"call_command('restore_shop', {str(archive)!r})\n"
        "from yourlocalshop.tests.test_backups import shop_fingerprint\n"
        "print(json.dumps(shop_fingerprint()))\n"
    )
    environment = {**os.environ, "DATABASE_URL": database_url}
    finished = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(finished.stdout.strip().splitlines()[-1])


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_postgresql_backup_restores_every_order_invoice_number_stock_level_and_ledger_row(
    tmp_path,
):
    media = tmp_path / "media"
    (media / "products").mkdir(parents=True)
    (media / "products" / "tea.jpg").write_bytes(b"\xff\xd8 a product photo")
    settings.MEDIA_ROOT = str(media)
    _trade(3)
    before = shop_fingerprint()
    assert len(before["orders"]) == 3 and len(before["invoices"]) == 3
    assert before["ledger_mismatches"] == []

    archive = tmp_path / "shop.tar.gz"
    call_command("backup_shop", output=archive)

    database = connection.settings_dict
    restored_name = f"{database['NAME']}_restored"
    server = psycopg.connect(
        host=database["HOST"], port=database["PORT"] or 5432, user=database["USER"],
        password=database["PASSWORD"] or None, dbname="postgres", autocommit=True,
    )  # fmt: skip
    with server:
        server.execute(f'DROP DATABASE IF EXISTS "{restored_name}"')
        server.execute(f'CREATE DATABASE "{restored_name}"')
        try:
            url = (
                f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@"
                f"{database['HOST']}:{database['PORT'] or 5432}/{restored_name}"
            )
            restored_media = tmp_path / "restored-media"
            after = _restore_elsewhere(archive, database_url=url, media_root=restored_media)
        finally:
            server.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')

    assert after == before
    assert (restored_media / "products" / "tea.jpg").read_bytes() == b"\xff\xd8 a product photo"


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_restore_refuses_a_database_that_is_not_empty(tmp_path):
    archive = tmp_path / "shop.tar.gz"
    call_command("backup_shop", output=archive)

    with pytest.raises(Exception, match="not empty"):
        call_command("restore_shop", str(archive))


@pytest.mark.slow
def test_an_sqlite_shop_restores_from_its_backup_into_a_new_file(tmp_path):
    """The embedded shape: `make run`'s kind of database file, in WAL mode."""
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "categories": [{"slug": "tea", "name": "Tea"}],
                "products": [
                    {"sku": f"TEA-{n}", "name": f"Tea {n}", "category": "tea",
                     "price": "4.50", "stock": n + 1}
                    for n in range(5)
                ],
            }
        )
    )  # fmt: skip
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}

    def manage(database: Path, *arguments: str) -> str:
        finished = subprocess.run(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, capture_output=True, text=True,
            env={**environment, "DATABASE_URL": f"sqlite:///{database}"}, timeout=300,
        )  # fmt: skip
        assert finished.returncode == 0, finished.stderr[-3000:]
        return finished.stdout

    def in_shop(database: Path, media: Path, code: str) -> str:
        # The shop's own media folder, whatever MEDIA_ROOT the settings default to.
        prelude = f"from django.conf import settings; settings.MEDIA_ROOT = {str(media)!r}; "
        return manage(database, "shell", "--no-imports", "-c", prelude + code)

    fingerprint = (
        "import json; from yourlocalshop.tests.test_backups import shop_fingerprint; "
        "print(json.dumps(shop_fingerprint()))"
    )
    shop, restored, archive = tmp_path / "shop.sqlite3", tmp_path / "new.sqlite3", tmp_path / "b"
    media, restored_media = tmp_path / "media", tmp_path / "restored-media"
    (media / "products").mkdir(parents=True)
    (media / "products" / "tea.jpg").write_bytes(b"a product photo")
    manage(shop, "prepare_database", "--verbosity", "0")
    manage(shop, "seed_products", "--file", str(seed))
    command = "from django.core.management import call_command; call_command"
    in_shop(shop, media, f"{command}('backup_shop', output={str(archive)!r})")
    in_shop(restored, restored_media, f"{command}('restore_shop', {str(archive)!r})")

    before = json.loads(in_shop(shop, media, fingerprint).strip().splitlines()[-1])
    after = json.loads(in_shop(restored, restored_media, fingerprint).strip().splitlines()[-1])
    assert after == before
    assert len(after["stock"]) == 5 and after["ledger_mismatches"] == []
    assert (restored_media / "products" / "tea.jpg").read_bytes() == b"a product photo"


def _crafted(tmp_path: Path, name: str) -> Path:
    crafted = tmp_path / "crafted.tar.gz"
    payload = tmp_path / "payload.txt"
    payload.write_text("not a backup")
    with tarfile.open(crafted, "w:gz") as archive:
        archive.add(payload, arcname=name)
    (tmp_path / "into").mkdir()
    return crafted


def test_a_restore_refuses_an_archive_that_climbs_out_of_its_folder(tmp_path):
    crafted = _crafted(tmp_path, "../outside.txt")
    with tarfile.open(crafted, "r:gz") as archive, pytest.raises(BackupError):
        _extract_safely(archive, into=tmp_path / "into")
    assert not (tmp_path / "outside.txt").exists()


def test_a_restore_never_writes_an_absolute_path_of_an_archive(tmp_path):
    target = tmp_path / "absolute.txt"
    crafted = _crafted(tmp_path, str(target))
    # Refused, or (Python's data filter) written inside the folder instead.
    with tarfile.open(crafted, "r:gz") as archive, contextlib.suppress(BackupError):
        _extract_safely(archive, into=tmp_path / "into")
    assert not target.exists()
