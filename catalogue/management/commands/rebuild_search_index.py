from django.core.management.base import BaseCommand

from catalogue.search import search_index_rebuild


class Command(BaseCommand):
    help = (
        "PostgreSQL: re-install the product search trigger in CATALOGUE_SEARCH_CONFIG and rewrite "
        "every product's search vector with it (after changing that setting). SQLite: nothing."
    )

    def handle(self, *args, **options):
        count = search_index_rebuild()
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt for {count} products."))
