"""The committed schema.graphql is the schema the code serves."""

from django.conf import settings
from strawberry.printer import print_schema

from glossary_backend.schema import schema


def test_committed_schema_matches_the_code():
    """Run `make schema` and commit the result when this fails."""
    committed = (settings.BASE_DIR / "schema.graphql").read_text(encoding="utf-8")
    assert committed.strip() == print_schema(schema).strip()
