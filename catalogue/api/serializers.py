from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalogue.models import Category, Product
from catalogue.selectors import DEFAULT_ORDERING, ORDERINGS, SEARCH_ORDERING, ProductFilters

STOCK_HINTS = ["in_stock", "low_stock", "out_of_stock"]


class ProductFilterSerializer(serializers.Serializer):
    """Query parameters of `GET /api/products`; bad values become a 400 with per-field errors."""

    category = serializers.SlugField(
        required=False, help_text="Category slug; products of its sub-categories are included."
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,  # an empty search box lists everything
        max_length=100,
        help_text='Searches name, SKU and description: words (stemmed), "quoted phrases", '
        "`or`, `-excluded`; on PostgreSQL also close spellings of the name and SKU fragments.",
    )
    min_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False
    )
    max_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False
    )
    in_stock = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only products that can be bought now; false: only sold-out ones.",
    )
    ordering = serializers.ChoiceField(
        choices=list(ORDERINGS),
        required=False,
        help_text="Default: `relevance` (best match first) when searching, else `-popularity`.",
    )

    def validate(self, attrs):
        min_price, max_price = attrs.get("min_price"), attrs.get("max_price")
        if min_price is not None and max_price is not None and min_price > max_price:
            raise serializers.ValidationError(
                {"max_price": ["Must be greater than or equal to min_price."]}
            )
        return attrs

    def to_filters(self) -> ProductFilters:
        values = dict(self.validated_data)
        values["q"] = values.get("q") or None
        values.setdefault("ordering", SEARCH_ORDERING if values["q"] else DEFAULT_ORDERING)
        return ProductFilters(**values)


class CategoryRefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Category
        fields = ["slug", "name", "parent"]


class ProductListDocumentSerializer(serializers.ModelSerializer):
    """A product in a list, as cached: everything except the short-lived stock hint."""

    category = CategoryRefSerializer()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    images = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["sku", "slug", "name", "price", "currency", "category", "images", "thumbnail"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_images(self, product: Product) -> list[str]:
        """The product page's picture (uploaded, else an image URL), as a URL or a path."""
        if product.image_display:
            return [product.image_display.url]
        return [product.image_url] if product.image_url else []

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_thumbnail(self, product: Product) -> str | None:
        """The 480x360 picture for a product grid; the first of `images` without an upload."""
        if product.image_thumbnail:
            return product.image_thumbnail.url
        return product.image_url or None


class ProductDetailDocumentSerializer(ProductListDocumentSerializer):
    class Meta(ProductListDocumentSerializer.Meta):
        fields = [*ProductListDocumentSerializer.Meta.fields, "description"]


class ProductListItemSerializer(ProductListDocumentSerializer):
    """What the API answers: the cached document plus `stockHint`, never an exact count."""

    stockHint = serializers.ChoiceField(choices=STOCK_HINTS, read_only=True)

    class Meta(ProductListDocumentSerializer.Meta):
        fields = [*ProductListDocumentSerializer.Meta.fields, "stockHint"]


class ProductDetailSerializer(ProductDetailDocumentSerializer):
    stockHint = serializers.ChoiceField(choices=STOCK_HINTS, read_only=True)

    class Meta(ProductDetailDocumentSerializer.Meta):
        fields = [*ProductDetailDocumentSerializer.Meta.fields, "stockHint"]
