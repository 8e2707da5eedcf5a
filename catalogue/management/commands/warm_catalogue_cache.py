from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.management.base import BaseCommand

from catalogue.cache import catalogue_cache_warm
from catalogue.tasks import warm_catalogue_cache


class Command(BaseCommand):
    help = (
        "Fill the catalogue cache (categories, first list pages, the most popular products). "
        "With --start-up (used by the container entrypoint) it queues a Celery task instead, so "
        "the web server starts at once while a worker warms the shared cache."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--top",
            type=int,
            default=settings.CATALOGUE_WARMUP_TOP,
            help="How many products, most popular first (default CATALOGUE_WARMUP_TOP).",
        )
        parser.add_argument(
            "--start-up",
            action="store_true",
            help="Queue the warm-up in the background; skip it when CATALOGUE_WARMUP_ON_START=0 "
            "or when the cache is private to each process (then no other process would see it).",
        )

    def handle(self, *args, top: int, start_up: bool, **options):
        if top < 1:
            self.stderr.write("--top must be at least 1.")
            raise SystemExit(2)
        if not start_up:
            warmed = catalogue_cache_warm(top=top)
            self.stdout.write(self.style.SUCCESS(f"Warmed the catalogue cache: {warmed} products."))
            return
        if not settings.CATALOGUE_WARMUP_ON_START:
            self.stdout.write("Catalogue warm-up at start-up is off (CATALOGUE_WARMUP_ON_START=0).")
            return
        if isinstance(caches["default"], LocMemCache) or settings.CELERY_TASK_ALWAYS_EAGER:
            # A per-process cache (or an in-process "broker") warmed here dies with this command;
            # the server fills its own cache on the first requests instead.
            self.stdout.write("Catalogue warm-up skipped: no shared cache and broker to warm.")
            return
        warm_catalogue_cache.delay(top=top)
        self.stdout.write(f"Queued the catalogue warm-up for the top {top} products.")
