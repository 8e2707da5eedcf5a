from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from orders.services.reconciliation import payments_reconcile


class Command(BaseCommand):
    help = (
        "Compare the shop's payments and refunds with the payment provider's records and list "
        "every difference; --repair refunds charges of orders that were never paid. Exits 1 "
        "while differences remain."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours", type=int, help="Window (default PAYMENT_RECONCILE_WINDOW_HOURS)."
        )
        parser.add_argument(
            "--repair", action="store_true", help="Refund charges of unpaid orders."
        )

    def handle(self, *args, hours=None, repair=False, **options):
        since = timezone.now() - timedelta(hours=hours) if hours else None
        report = payments_reconcile(since=since, repair=repair)
        self.stdout.write(
            f"{report.charges_checked} provider charges and {report.payments_checked} payments "
            f"since {report.since:%Y-%m-%d %H:%M} checked."
        )
        for mismatch in report.mismatches:
            state = "repaired" if mismatch.repaired else "UNRESOLVED"
            self.stdout.write(
                f"{state}: {mismatch.kind} charge {mismatch.charge_id} order {mismatch.order_id} "
                f"shop {mismatch.shop_amount} provider {mismatch.provider_amount}"
            )
        if report.unresolved:
            self.stderr.write(f"{len(report.unresolved)} difference(s) need a person.")
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("Payments reconcile with the provider."))
