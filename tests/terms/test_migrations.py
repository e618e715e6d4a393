"""The schema behind search stays changeable: the models declare all of it."""

import pytest
from django.db import connection, migrations, models
from django.db.migrations.executor import MigrationExecutor

from terms.models import Term

SEARCH = """
query Search($query: String!) { search(query: $query, first: 2) { term { slug } } }
"""


def column_lengths():
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, "terms_term")
    return {
        column.name: column.display_size
        for column in description
        if column.name in {"name", "abbreviation", "expansion"}
    }


@pytest.mark.postgres
def test_a_migration_can_change_the_length_of_searched_fields(seed, graphql):
    """Widening and narrowing every searched text field migrates on PostgreSQL, and
    search still answers: no column or trigger the models cannot see depends on them."""
    executor = MigrationExecutor(connection)
    state = executor.loader.project_state()
    migration = migrations.Migration("0999_resize_searched_fields", "terms")

    def resize(name, abbreviation, expansion):
        return [
            migrations.AlterField("term", "name", models.CharField(max_length=name)),
            migrations.AlterField(
                "term", "abbreviation", models.CharField(max_length=abbreviation, blank=True)
            ),
            migrations.AlterField(
                "term", "expansion", models.CharField(max_length=expansion, blank=True)
            ),
            migrations.AlterField("term", "aliases", models.CharField(max_length=1000, blank=True)),
            migrations.AlterField("term", "definition", models.CharField(max_length=2000)),
        ]

    migration.operations = resize(300, 80, 250)
    with connection.schema_editor() as editor:
        state = migration.apply(state, editor)
    assert column_lengths() == {"name": 300, "abbreviation": 80, "expansion": 250}
    assert graphql(SEARCH, {"query": "lroa"})["data"] == {
        "search": [{"term": {"slug": "lora"}}, {"term": {"slug": "qlora"}}]
    }
    migration.operations = resize(150, 20, 120)
    with connection.schema_editor() as editor:
        migration.apply(state, editor)
    assert column_lengths() == {"name": 150, "abbreviation": 20, "expansion": 120}
    # The generated initial that reads the name was recomputed, and its index is back.
    assert sorted(Term.objects.filter(initial="L").values_list("name", flat=True)) == [
        "Learning Rate",
        "LoRA",
    ]
    with connection.cursor() as cursor:
        assert "term_initial_idx" in connection.introspection.get_constraints(cursor, "terms_term")
