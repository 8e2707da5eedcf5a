from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from inventory.errors import SupplierFileInvalid
from inventory.services.supplier_import import (
    supplier_file_read,
    supplier_import_apply,
    supplier_import_plan,
)


class Command(BaseCommand):
    help = (
        "Read a supplier's CSV or XLSX file (sku, price, quantity_received) and show what it would "
        "change; with --apply, change it all in one transaction (nothing when a row is bad)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--reference", default="", help="the delivery note or price list (ledger note)"
        )
        parser.add_argument("--apply", action="store_true", help="write the changes")
        parser.add_argument("--user", help="e-mail of the staff member recorded on the ledger")

    def handle(self, *args, file: Path, reference: str, apply: bool, user: str | None, **options):
        try:
            content = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        staff = None
        if user:
            staff = get_user_model().objects.filter(email=user.lower()).first()
            if staff is None:
                raise CommandError(f"No user {user!r}.")
        try:
            rows = supplier_file_read(name=file.name, content=content)
            plan = supplier_import_plan(rows=rows)
            self.stdout.write(
                f"{file}: {plan.rows} rows, {plan.price_changes} price changes, "
                f"{plan.units_received} units received for {plan.products_received} products, "
                f"{len(plan.errors)} errors."
            )
            for change in plan.changes[:20]:
                price = f"{change.old_price} -> {change.new_price}" if change.price_changes else ""
                received = f"+{change.quantity_received}" if change.quantity_received else ""
                self.stdout.write(f"  row {change.number} {change.sku} {price} {received}".rstrip())
            if len(plan.changes) > 20:
                self.stdout.write(f"  … and {len(plan.changes) - 20} more rows that change")
            if not apply:
                if plan.errors:
                    raise SupplierFileInvalid("Bad rows.", errors=plan.errors)
                self.stdout.write("Nothing written: run again with --apply to change it.")
                return
            report = supplier_import_apply(rows=rows, reference=reference, user=staff)
        except SupplierFileInvalid as error:
            errors = error.extra["errors"]
            raise CommandError(
                f"{file}: nothing was written; {len(errors)} problem(s):\n  " + "\n  ".join(errors)
            ) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Applied {file}: {report.prices_changed} prices changed, {report.units_received} "
                f"units received for {report.products_received} products."
            )
        )
