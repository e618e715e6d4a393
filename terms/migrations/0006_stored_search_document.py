"""PostgreSQL only: the term's search vector stored in a generated column, indexed.

Ranking read the vector by recomputing five to_tsvector() calls for every matching
term (70 ms for a word found in 1,700 of 10,000 terms); stored, it is read. The
column is maintained by PostgreSQL and unknown to the model (SQLite has no tsvector):
terms.search read it (until 0009). It replaces the expression index of 0004.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
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

COLUMN = "search_document"
INDEX = "term_search_document_idx"


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    term = apps.get_model("terms", "Term")
    schema_editor.remove_index(term, GinIndex(TERM_SEARCH_VECTOR, name="term_search_vector_idx"))
    with schema_editor.connection.cursor() as cursor:
        compiler = term.objects.all().query.get_compiler(connection=schema_editor.connection)
        vector_sql, params = TERM_SEARCH_VECTOR.resolve_expression(compiler.query).as_sql(
            compiler, schema_editor.connection
        )
        table = schema_editor.quote_name(term._meta.db_table)
        # Generated columns cannot take parameters: inline them, as Django does for its own.
        generated = cursor.mogrify(vector_sql, params)
        cursor.execute(
            f"ALTER TABLE {table} ADD COLUMN {COLUMN} tsvector "
            f"GENERATED ALWAYS AS ({generated}) STORED"
        )
        cursor.execute(f"CREATE INDEX {INDEX} ON {table} USING gin ({COLUMN})")


def remove_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    term = apps.get_model("terms", "Term")
    with schema_editor.connection.cursor() as cursor:
        table = schema_editor.quote_name(term._meta.db_table)
        cursor.execute(f"ALTER TABLE {table} DROP COLUMN {COLUMN}")
    schema_editor.add_index(term, GinIndex(TERM_SEARCH_VECTOR, name="term_search_vector_idx"))


class Migration(migrations.Migration):
    dependencies = [("terms", "0005_base_managers")]

    operations = [migrations.RunPython(add_column, remove_column)]
