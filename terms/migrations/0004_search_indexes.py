"""Indexes for term search that only PostgreSQL has: full-text GIN and trigram GIN.

On other databases this migration does nothing; search falls back to plain matching.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# The search vector as it was defined when this migration was written, frozen here:
# a migration must not import live code whose meaning can change.
TERM_SEARCH_VECTOR = (
    SearchVector("name", weight="A", config="english")
    + SearchVector("abbreviation", weight="A", config="english")
    + SearchVector("expansion", weight="B", config="english")
    + SearchVector("aliases", weight="B", config="english")
    + SearchVector("definition", weight="C", config="english")
)


def search_indexes():
    return [
        GinIndex(TERM_SEARCH_VECTOR, name="term_search_vector_idx"),
        *(
            GinIndex(fields=[field], opclasses=["gin_trgm_ops"], name=f"term_{field}_trgm_idx")
            for field in ("name", "abbreviation", "aliases")
        ),
    ]


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        term = apps.get_model("terms", "Term")
        for index in search_indexes():
            schema_editor.add_index(term, index)


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        term = apps.get_model("terms", "Term")
        for index in search_indexes():
            schema_editor.remove_index(term, index)


class Migration(migrations.Migration):
    dependencies = [("terms", "0003_term_ordering_and_help_text")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(add_indexes, remove_indexes),
    ]
