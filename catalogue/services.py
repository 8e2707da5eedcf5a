"""Writes of the catalogue: categories and products, and the validated bulk import used by seeding.

Saving a product or category invalidates the cached read path (see `catalogue.cache`), so a new
price is what the very next request sees.
"""

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from catalogue.cache import (
    catalogue_cache_invalidate,
    invalidation_batch,
    product_change,
    products_changed,
)
from catalogue.errors import SeedFileInvalid
from catalogue.images import renditions, sample_image
from catalogue.models import Category, Product
from yourlocalshop.db import bulk_written

PRODUCT_FIELDS = {
    "image",  # a picture file beside the document (not written as given: see catalogue_import)
    "sku",
    "slug",
    "name",
    "description",
    "category",
    "price",
    "currency",
    "is_active",
    "image_url",
    "popularity",
}
CATEGORY_FIELDS = {"slug", "name", "parent"}
# What an import writes to an existing product (a row may leave out the optional ones).
IMPORT_WRITTEN_FIELDS = sorted(PRODUCT_FIELDS - {"image"})
IMAGE_FIELDS = ["image", "image_thumbnail", "image_display"]
IMPORT_BATCH = 1_000  # rows per INSERT/UPDATE statement, and per `IN (...)` list


@dataclass(frozen=True)
class ImportResult:
    products: dict[str, Product]  # by SKU, every product of the file
    created: int
    updated: int
    unchanged: int


def _chunks(values: list) -> Iterator[list]:
    for start in range(0, len(values), IMPORT_BATCH):
        yield values[start : start + IMPORT_BATCH]


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            f"{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return list(error.messages)


def _decimal(value: Any) -> Decimal:
    # A float has already lost cents to binary rounding; money comes as a string or an integer.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError('use a string such as "12.50"')
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValidationError(f"{value!r} is not a decimal number") from None


def _image_file(name: str, folder: Path | None) -> Path | str:
    """The picture file a row names (relative to the document's folder), or what is wrong."""
    if folder is None:
        return "pictures are read from files beside a seed file only"
    if not name:
        return "must be the path of a picture file"
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        return f"no file {name!r} beside the seed file"
    return path


def _category_rows_errors(rows: list[Any], known_slugs: set[str]) -> list[str]:
    errors, seen = [], set()
    for number, row in enumerate(rows, start=1):
        prefix = f"categories row {number}"
        if not isinstance(row, dict):
            errors.append(f"{prefix}: must be an object")
            continue
        unknown = set(row) - CATEGORY_FIELDS
        if unknown:
            errors.append(f"{prefix}: unknown field(s) {', '.join(sorted(unknown))}")
        category = Category(slug=row.get("slug") or "", name=row.get("name") or "")
        try:
            category.full_clean(exclude=["parent"], validate_unique=False)
        except ValidationError as error:
            errors.extend(f"{prefix}: {message}" for message in _messages(error))
        if category.slug in seen:
            errors.append(f"{prefix}: slug: {category.slug!r} appears twice in the file")
        seen.add(category.slug)
    for number, row in enumerate(rows, start=1):
        parent = row.get("parent") if isinstance(row, dict) else None
        if parent is not None and parent not in seen | known_slugs:
            errors.append(f"categories row {number}: parent: no category {parent!r}")
    return errors


def _product_rows(
    rows: list[Any],
    category_slugs: set[str],
    existing: dict[str, Product],
    image_folder: Path | None,
) -> tuple[list[tuple[int, dict]], list[str]]:
    """(row number, validated field values with the category still a slug and `image` the
    picture's file), and the errors."""
    cleaned, errors, seen_skus, seen_slugs = [], [], set(), set()
    image_checked: dict[str, Path | str] = {}  # a file shared by many rows is checked once
    for number, row in enumerate(rows, start=1):
        prefix = f"products row {number}"
        if not isinstance(row, dict):
            errors.append(f"{prefix}: must be an object")
            continue
        prefix += f" (sku {row.get('sku')!r})"
        row_errors = []
        unknown = set(row) - PRODUCT_FIELDS
        if unknown:
            row_errors.append(f"unknown field(s) {', '.join(sorted(unknown))}")
        for field in ("sku", "name", "category", "price"):
            if row.get(field) in (None, ""):
                row_errors.append(f"{field}: this field is required")
        values = {field: row[field] for field in PRODUCT_FIELDS & set(row)}
        values.setdefault("slug", slugify(f"{row.get('name', '')}-{row.get('sku', '')}"))
        if "price" in values:
            try:
                values["price"] = _decimal(values["price"])
            except ValidationError as error:
                row_errors.append(f"price: {error.messages[0]}")
                values.pop("price")
        if values.get("category") not in category_slugs and row.get("category"):
            row_errors.append(f"category: no category {row['category']!r}")
        category_slug = values.pop("category", None)
        image = values.pop("image", None)
        if image is not None:
            if not isinstance(image, str):
                image_checked[image := repr(image)] = "must be the path of a picture file"
            elif image not in image_checked:
                image_checked[image] = _image_file(image, image_folder)
            if isinstance(image_checked[image], str):
                row_errors.append(f"image: {image_checked[image]}")
        # Validate a copy: the stored instance must keep its values to detect unchanged rows.
        stored = existing.get(values.get("sku"))
        product = copy.copy(stored) if stored else Product()
        for field, value in values.items():
            setattr(product, field, value)
        try:
            # Category is checked above by slug; a price that failed to parse is reported once.
            # Uniqueness is checked for the whole file at once below, and the check constraints
            # repeat the field validators; both would otherwise cost queries per row.
            product.full_clean(
                exclude=["category"] if "price" in values else ["category", "price"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            row_errors.extend(_messages(error))
        for field, seen in (("sku", seen_skus), ("slug", seen_slugs)):
            if values.get(field) in seen:
                row_errors.append(f"{field}: {values[field]!r} appears twice in the file")
            seen.add(values.get(field))
        errors.extend(f"{prefix}: {message}" for message in row_errors)
        if isinstance(image_checked.get(image), Path):
            values["image"] = image_checked[image]
        cleaned.append((number, {**values, "category": category_slug}))
    taken = {}
    for chunk in _chunks(sorted(seen_slugs - {None})):
        taken.update(Product.objects.filter(slug__in=chunk).values_list("slug", "sku"))
    for number, values in cleaned:
        owner = taken.get(values.get("slug"))
        if owner is not None and owner != values.get("sku"):
            errors.append(
                f"products row {number} (sku {values.get('sku')!r}): slug: "
                f"{values['slug']!r} already belongs to product {owner!r}"
            )
    return cleaned, errors


@transaction.atomic
def catalogue_import(
    *, categories: list[Any], products: list[Any], image_folder: Path | None = None
) -> ImportResult:
    """Upsert categories (by slug) and products (by SKU) from plain rows, all or nothing.

    Every row is validated before anything is written; any bad row raises `SeedFileInvalid`
    whose `errors` list names each row number and field. Idempotent: a row equal to what is
    stored is not saved again, so importing the same file twice changes nothing. Products not
    in the rows are left as they are.

    A row's `image` is a picture file, its path relative to `image_folder` (the seed file's
    folder). It becomes the picture of a product that has none: stored once with its
    renditions however many rows name it (a generated catalogue shares a few), never over a
    picture the shop uploaded.
    """
    if not isinstance(categories, list) or not isinstance(products, list):
        raise SeedFileInvalid(
            "`categories` and `products` must be lists.", errors=["file: not a seed document"]
        )
    known_slugs = set(Category.objects.values_list("slug", flat=True))
    errors = _category_rows_errors(categories, known_slugs)
    file_category_slugs = {row.get("slug") for row in categories if isinstance(row, dict)}
    skus = [row.get("sku") for row in products if isinstance(row, dict)]
    existing = {
        product.sku: product
        for chunk in _chunks(skus)
        for product in Product.objects.filter(sku__in=chunk)
    }
    cleaned, product_errors = _product_rows(
        products, known_slugs | file_category_slugs, existing, image_folder
    )
    errors += product_errors
    if errors:
        raise SeedFileInvalid(f"{len(errors)} problem(s) in the seed file.", errors=errors)

    with invalidation_batch():  # one cache invalidation for the whole file
        return _catalogue_import_rows(categories, cleaned, existing)


def _catalogue_import_rows(
    categories: list[dict], cleaned: list[tuple[int, dict]], existing: dict[str, Product]
) -> ImportResult:
    """Write validated rows in bulk (an insert per IMPORT_BATCH new products, an update per
    IMPORT_BATCH changed ones), and report the changes to the cache in one step."""
    categories_by_slug = _categories_upsert(categories)
    now = timezone.now()
    to_create, to_update, changes = [], [], []
    unchanged = 0
    result = {}
    pictures: dict[Path, dict[str, str]] = {}  # each file's stored names, by image field
    for _, values in cleaned:
        product = existing.get(values["sku"])
        image = values.get("image")
        fields = {**values, "category": categories_by_slug[values["category"]]}
        fields.pop("image", None)
        if image is not None and not (product and product.image):
            if image not in pictures:
                pictures[image] = _picture_store(image)
            fields.update(pictures[image])
        if product is None:
            product = Product(**fields)
            to_create.append(product)
        elif any(getattr(product, field) != value for field, value in fields.items()):
            for field, value in fields.items():
                setattr(product, field, value)
            product.updated_at = now
            to_update.append(product)
            changes.append(product_change(product, previous=product.loaded_values))
        else:
            unchanged += 1
        result[product.sku] = product
    Product.objects.bulk_create(to_create, batch_size=IMPORT_BATCH)
    Product.objects.bulk_update(
        to_update, [*IMPORT_WRITTEN_FIELDS, *IMAGE_FIELDS, "updated_at"], batch_size=IMPORT_BATCH
    )
    changes += [product_change(product, previous=None) for product in to_create]
    products_changed(changes)
    bulk_written(Product, Category, rows=len(to_create) + len(to_update))
    return ImportResult(
        products=result, created=len(to_create), updated=len(to_update), unchanged=unchanged
    )


def _picture_store(path: Path) -> dict[str, str]:
    """Store a picture file and its renditions (`catalogue.images`); their names by field."""
    storage = Product._meta.get_field("image").storage
    with path.open("rb") as source:
        made = renditions(source, stem=path.stem)
        source.seek(0)
        original = storage.save(f"products/originals/{path.name}", source)
    return {
        "image": original,
        "image_thumbnail": storage.save(
            f"products/thumbnails/{made.thumbnail.name}", made.thumbnail
        ),
        "image_display": storage.save(f"products/display/{made.display.name}", made.display),
    }


def _categories_upsert(rows: list[dict]) -> dict[str, Category]:
    """Create/update categories parents first (rows are validated; cycles end in an error)."""
    by_slug = {category.slug: category for category in Category.objects.all()}
    pending = list(rows)
    while pending:
        ready = [row for row in pending if not row.get("parent") or row["parent"] in by_slug]
        if not ready:
            raise SeedFileInvalid(
                "Categories form a cycle.",
                errors=[f"categories: cycle among {sorted(r['slug'] for r in pending)}"],
            )
        for row in ready:
            parent = by_slug.get(row["parent"]) if row.get("parent") else None
            category = by_slug.get(row["slug"])
            if category is None:
                category = Category.objects.create(
                    slug=row["slug"], name=row["name"], parent=parent
                )
            elif category.name != row["name"] or category.parent_id != (parent and parent.id):
                category.name, category.parent = row["name"], parent
                category.save()
            by_slug[category.slug] = category
            pending.remove(row)
    return by_slug


@transaction.atomic
def product_prices_set(*, prices: dict[int, Decimal]) -> int:
    """Set many products' prices (by product id) in bulk, as a supplier's price list does: one
    update per IMPORT_BATCH products whose price differs, one cache report for them all at the
    end (each changed product's pages and the lists it is in). Returns how many changed.

    The prices must be validated already (Decimal, at least 0, two decimal places).
    """
    changed = []
    now = timezone.now()
    for chunk in _chunks(sorted(prices)):
        for product in Product.objects.filter(id__in=chunk).select_for_update().order_by("id"):
            if product.price != prices[product.id]:
                product.price = prices[product.id]
                product.updated_at = now
                changed.append(product)
    _prices_write(changed, now=now)
    bulk_written(Product, rows=len(changed))  # its index-only scans need the visibility map again
    products_changed(product_change(product, previous=product.loaded_values) for product in changed)
    return len(changed)


def _prices_write(products: list[Product], *, now) -> None:
    """One `UPDATE ... FROM (VALUES ...)` per IMPORT_BATCH products (a join, where the ORM's
    bulk_update would send a CASE with a branch per product, evaluated for every row)."""
    ops = connection.ops
    table = ops.quote_name(Product._meta.db_table)
    price, updated_at = ops.quote_name("price"), ops.quote_name("updated_at")
    with connection.cursor() as cursor:
        for batch in _chunks(products):
            values = ", ".join(["(%s, CAST(%s AS NUMERIC(12, 2)))"] * len(batch))
            params = []
            for product in batch:
                params += [product.id, ops.adapt_decimalfield_value(product.price, 12, 2)]
            cursor.execute(
                f"WITH new_prices (id, price) AS (VALUES {values}) "
                f"UPDATE {table} SET {price} = new_prices.price, {updated_at} = %s "
                f"FROM new_prices WHERE {table}.{ops.quote_name('id')} = new_prices.id",
                [*params, ops.adapt_datetimefield_value(now)],
            )


# --- Images -------------------------------------------------------------------------------------


def product_image_renditions_make(*, product: Product) -> Product:
    """Make the grid thumbnail and the product page picture from `product.image` (after an
    upload in the admin), or clear both when it has none. Saves the product, so the cached
    documents showing it are dropped; the replaced files are deleted once that commits."""
    replaced = [name for name in (product.image_thumbnail.name, product.image_display.name) if name]
    if product.image:
        with product.image.open("rb") as source:
            made = renditions(source, stem=Path(product.image.name).stem)
        product.image_thumbnail.save(made.thumbnail.name, made.thumbnail, save=False)
        product.image_display.save(made.display.name, made.display, save=False)
    else:
        product.image_thumbnail = product.image_display = ""
    product.save(update_fields=["image", "image_thumbnail", "image_display", "updated_at"])
    storage = product.image_thumbnail.storage
    kept = {product.image_thumbnail.name, product.image_display.name}
    transaction.on_commit(lambda: [storage.delete(name) for name in replaced if name not in kept])
    return product


def product_sample_images_make() -> int:
    """Give every product that has no picture (no upload, no image URL) a drawn one, for the
    sample catalogue of `make run`; returns how many. Running it again does nothing.

    One small picture per product serves as its upload and both renditions, written with one
    bulk update: `make run` starts a fresh shop in seconds, not minutes."""
    products = list(Product.objects.filter(image="", image_url="").select_related("category"))
    storage = Product._meta.get_field("image").storage
    for product in products:
        picture = sample_image(name=product.name, sku=product.sku, category=product.category.name)
        name = storage.save(f"products/samples/{picture.name}", picture)
        product.image = product.image_thumbnail = product.image_display = name
    with transaction.atomic():
        Product.objects.bulk_update(
            products, ["image", "image_thumbnail", "image_display"], batch_size=IMPORT_BATCH
        )
    if products:
        catalogue_cache_invalidate()
    return len(products)
