"""Draw a picture for every product that has none (`make run`'s sample catalogue)."""

from django.core.management.base import BaseCommand

from catalogue.services import product_sample_images_make


class Command(BaseCommand):
    help = (
        "Give every product without an uploaded image or an image URL a drawn picture and its "
        "thumbnails (for the sample catalogue; products with a picture are left alone)."
    )

    def handle(self, *args, **options):
        made = product_sample_images_make()
        self.stdout.write(f"Sample pictures drawn: {made}.")
