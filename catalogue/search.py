"""Product search: PostgreSQL's full text search and trigrams; SQLite keeps a plain word scan.

On PostgreSQL every product keeps a `search_vector` (name and SKU weighted A, description C, in
the text search configuration CATALOGUE_SEARCH_CONFIG). A trigger writes it on every insert and
on every update of name, SKU or description, bulk writes included, so no code path can forget it;
a GIN index serves the match. A query matches a product when

- its words match the vector (`websearch_to_tsquery`: "quoted phrases", `or`, `-excluded`, with
  stemming: "apples" finds "apple"), or
- it is close to a run of words of the name (trigram word similarity: typos, "choclate"), or
- it is a fragment of the SKU ("TEA-0"),

the last two index-backed by trigram GIN indexes (extension pg_trgm). Results are ranked by the
text rank (a name match weighs five times a description match) plus the name's trigram
similarity. When nothing matches, `search_suggestion` offers the query with each word replaced
by the closest word of a product name ("did you mean").

SQLite (the embedded default) has none of this: every word must appear in the name, SKU or
description, and products with more of the words in their name come first.
"""

import difflib
import functools
import operator
import re

from django.conf import settings
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    TrigramWordSimilarity,
)
from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When

from catalogue.models import Product

# pg_trgm's word_similarity above which a name counts as a match (its default, 0.6, misses a
# dropped letter: "choclate" is 0.58 from "Chocolate"), and above which a name word is offered as
# a correction. Queries shorter than TYPO_MIN_LENGTH are not matched by similarity: "tea" would
# find "Terracotta".
MATCH_SIMILARITY = 0.5
SUGGESTION_SIMILARITY = 0.3
TYPO_MIN_LENGTH = 4
MAX_QUERY_WORDS = 8
_WORD = re.compile(r"\w[\w-]*", re.UNICODE)


def query_words(q: str) -> list[str]:
    """The words of a query, as the search and the highlighting see them (operators dropped)."""
    words = [word for word in _WORD.findall(q) if word.lower() != "or"]
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]


def search_vector_trigger_sql(config: str) -> str:
    """The trigger that keeps `search_vector` current, in text search configuration `config`
    (checked to be a plain name in settings; it cannot be a query parameter inside a function)."""
    if not re.fullmatch(r"[a-z_]+", config):
        raise ValueError(f"not a text search configuration name: {config!r}")
    return f"""
        CREATE OR REPLACE FUNCTION catalogue_product_search_vector() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search_vector :=
                setweight(to_tsvector('{config}', coalesce(NEW.name, '')), 'A')
                || setweight(to_tsvector('simple', coalesce(NEW.sku, '')), 'A')
                || setweight(to_tsvector('{config}', coalesce(NEW.description, '')), 'C');
            RETURN NEW;
        END
        $$;
        DROP TRIGGER IF EXISTS catalogue_product_search_vector ON catalogue_product;
        CREATE TRIGGER catalogue_product_search_vector
            BEFORE INSERT OR UPDATE OF name, sku, description ON catalogue_product
            FOR EACH ROW EXECUTE FUNCTION catalogue_product_search_vector();
    """


def search_index_rebuild() -> int:
    """(PostgreSQL) Install the trigger in today's CATALOGUE_SEARCH_CONFIG and rewrite every
    product's vector with it; returns how many products. Nothing to do on SQLite (0)."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(search_vector_trigger_sql(settings.CATALOGUE_SEARCH_CONFIG))
        # Naming a column of the trigger's `UPDATE OF` fires it; nothing else changes.
        cursor.execute("UPDATE catalogue_product SET name = name")
        return cursor.rowcount


def match_similarity_set(*, connection, **kwargs) -> None:
    """(PostgreSQL) On every new database connection, the word similarity above which a name
    counts as a match: pg_trgm's operators (and so its indexes) read it from a setting. Set once
    per connection rather than around each search query, where it took a transaction and a
    statement of its own: three round trips more for each of a search's queries."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
                [str(MATCH_SIMILARITY)],
            )


def products_matching(products: QuerySet[Product], q: str) -> QuerySet[Product]:
    """`products` narrowed to those matching `q`, annotated with `relevance` (higher first)."""
    if connection.vendor == "postgresql":
        config = settings.CATALOGUE_SEARCH_CONFIG
        query = SearchQuery(q, search_type="websearch", config=config)
        condition = Q(search_vector=query) | Q(sku__icontains=q) | _close_spelling(q, config)
        return products.filter(condition).annotate(
            relevance=SearchRank(F("search_vector"), query) + TrigramWordSimilarity(q, "name")
        )
    words = query_words(q) or [q]
    for word in words:
        products = products.filter(
            Q(name__icontains=word) | Q(sku__icontains=word) | Q(description__icontains=word)
        )
    name_hits = [
        Case(When(name__icontains=word, then=Value(1)), default=Value(0)) for word in words
    ]
    return products.annotate(relevance=sum(name_hits[1:], name_hits[0]))


def _close_spelling(q: str, config: str) -> Q:
    """Products whose name holds a close spelling of each long word of `q` (its other words
    exactly) and none of its `-excluded` words: a typo costs no match. Nothing for a query with
    `or` or with no long word."""
    tokens = q.split()
    if any(token.lower() == "or" for token in tokens):
        return Q(pk__in=[])
    excluded = query_words(" ".join(token for token in tokens if token.startswith("-")))
    words = query_words(" ".join(token for token in tokens if not token.startswith("-")))
    # Sizes and SKU parts ("500", "TEA-01") are never misspelt words: they must match exactly.
    long_words = [word for word in words if len(word) >= TYPO_MIN_LENGTH and word.isalpha()]
    if not long_words:
        return Q(pk__in=[])
    condition = Q()
    for word in long_words:
        condition &= Q(name__trigram_word_similar=word)
    exact_words = [word for word in words if word not in long_words]
    if exact_words:
        condition &= Q(search_vector=SearchQuery(" ".join(exact_words), config=config))
    if excluded:
        any_excluded = functools.reduce(
            operator.or_, (SearchQuery(word, config=config) for word in excluded)
        )
        condition &= ~Q(search_vector=any_excluded)
    return condition


def search_suggestion(q: str) -> str | None:
    """A query close to `q` whose words appear in product names, or None (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return None
    suggestion = []
    with transaction.atomic(), connection.cursor() as cursor:
        # Looser than a match's threshold (set per connection), for this transaction only.
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
            [str(SUGGESTION_SIMILARITY)],
        )
        for word in query_words(q):
            cursor.execute(
                "SELECT name FROM catalogue_product WHERE is_active AND %s <%% name "
                "ORDER BY word_similarity(%s, name) DESC, popularity DESC LIMIT 1",
                [word, word],
            )
            row = cursor.fetchone()
            suggestion.append(_closest_word(word, row[0]) if row else word)
    text = " ".join(suggestion)
    return text if text.lower() != " ".join(query_words(q)).lower() else None


def _closest_word(word: str, name: str) -> str:
    candidates = {candidate.lower(): candidate for candidate in _WORD.findall(name)}
    close = difflib.get_close_matches(word.lower(), list(candidates), n=1, cutoff=0)
    return candidates[close[0]].lower() if close else word
