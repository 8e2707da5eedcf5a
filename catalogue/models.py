from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q


class Category(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


def default_currency() -> str:
    return settings.SHOP_CURRENCY


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(
        max_length=3,
        default=default_currency,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code.")],
    )
    is_active = models.BooleanField(default=True)
    image_url = models.URLField(
        max_length=500, blank=True, help_text="An image hosted elsewhere, when there is no upload."
    )
    # The uploaded original; the shop front shows the renditions made from it on upload
    # (catalogue.images): the grid's 480x360 thumbnail and the product page's picture.
    image = models.ImageField(upload_to="products/originals/", blank=True)
    image_thumbnail = models.ImageField(
        upload_to="products/thumbnails/", blank=True, editable=False
    )
    image_display = models.ImageField(upload_to="products/display/", blank=True, editable=False)
    # Shipping weight of one unit; the packing station proposes parcel weights from it.
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    # Higher is more popular: drives the default ordering and which products the cache warms.
    popularity = models.PositiveIntegerField(default=0)
    # PostgreSQL only: written by a database trigger, read by the search (catalogue/search.py).
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-popularity", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="catalogue_product_price_gte_0"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"),
                name="catalogue_product_currency_iso",
            ),
        ]
        indexes = [
            # The storefront list filters active products and sorts by each offered ordering.
            models.Index(
                fields=["is_active", "-popularity", "id"], name="catalogue_active_pop_idx"
            ),
            # With `id`, each ordering's whole id list is one index-only scan (the cache keeps
            # it, so any page, however deep, is a slice of it).
            models.Index(fields=["is_active", "price", "id"], name="catalogue_active_price_id_idx"),
            models.Index(fields=["is_active", "name", "id"], name="catalogue_active_name_id_idx"),
            models.Index(fields=["category", "is_active"], name="catalogue_cat_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # What the row held when read, so a save can tell the cache which lists it may have
        # changed (`catalogue.receivers`); keyed by attname (`category_id`).
        instance.loaded_values = {
            name: instance.__dict__[name] for name in field_names if name in instance.__dict__
        }
        return instance
