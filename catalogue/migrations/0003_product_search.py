"""Product search on PostgreSQL (catalogue/search.py): the vector column, the trigger keeping it
current, its GIN index and the trigram indexes of name and SKU. Only the column exists on SQLite:
the extension is skipped there by Django, and the PostgreSQL-only step does nothing."""

import django.contrib.postgres.search
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from catalogue.search import search_vector_trigger_sql

INDEXES = """
    CREATE INDEX catalogue_product_search_idx ON catalogue_product USING gin (search_vector);
    CREATE INDEX catalogue_product_name_trgm_idx ON catalogue_product USING gin (name gin_trgm_ops);
    -- what sku__icontains compares: UPPER("sku"::text) LIKE UPPER(the pattern)
    CREATE INDEX catalogue_product_sku_trgm_idx
        ON catalogue_product USING gin ((UPPER(sku::text)) gin_trgm_ops);
"""
DROP = """
    DROP TRIGGER IF EXISTS catalogue_product_search_vector ON catalogue_product;
    DROP FUNCTION IF EXISTS catalogue_product_search_vector();
    DROP INDEX IF EXISTS catalogue_product_search_idx;
    DROP INDEX IF EXISTS catalogue_product_name_trgm_idx;
    DROP INDEX IF EXISTS catalogue_product_sku_trgm_idx;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(search_vector_trigger_sql(settings.CATALOGUE_SEARCH_CONFIG))
    schema_editor.execute(INDEXES)
    schema_editor.execute("UPDATE catalogue_product SET name = name")  # fires the trigger


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0002_product_weight_grams"),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddField(
            model_name="product",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(install, uninstall),
    ]
