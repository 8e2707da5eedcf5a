from django.core.management.base import BaseCommand

from inventory.services import reservations_expire_due


class Command(BaseCommand):
    help = "Expire reservations past their TTL and free their stock (what the beat task does)."

    def handle(self, *args, **options) -> None:
        expired = reservations_expire_due()
        self.stdout.write(f"Expired {expired} reservation(s).")
