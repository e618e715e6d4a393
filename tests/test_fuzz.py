"""Property-based fuzzing of the public schema with hypothesis-graphql, in process.

Generated queries and mutations (valid against the schema, with arbitrary arguments)
go through HTTP to /graphql. Whatever they ask, the answer is a 2xx or 4xx with coded
errors: never a server error, a masked internal error, or a traceback. The seed and
the number of examples are fixed, so CI runs the same cases every time.
"""

import datetime
import json

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes

SCHEMA = (settings.BASE_DIR / "schema.graphql").read_text()
SCALARS = {
    "DateTime": st.datetimes(
        min_value=datetime.datetime(1900, 1, 1), max_value=datetime.datetime(2200, 1, 1)
    ).map(lambda value: nodes.String(value.isoformat() + "Z")),
    "Date": st.dates().map(lambda value: nodes.String(value.isoformat())),
}
FUZZ = hypothesis_settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ACCEPTABLE_CODES = {
    "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "FORBIDDEN",
    "RATE_LIMITED", "BAD_REQUEST", "PAYLOAD_TOO_LARGE", "QUERY_TOO_COSTLY",
}  # fmt: skip


def check(client, document):
    response = client.post("/graphql", {"query": document}, content_type="application/json")
    body = response.content.decode()
    assert response.status_code < 500, body
    assert "Traceback" not in body
    assert 'File "' not in body
    payload = json.loads(body)
    for error in payload.get("errors") or []:
        assert error.get("extensions", {}).get("code") in ACCEPTABLE_CODES, (document, error)


@pytest.mark.django_db
@seed(20261127)
@FUZZ
@given(document=from_schema(SCHEMA, custom_scalars=SCALARS))
def test_fuzzed_queries_never_fail_the_server(seed_quiz, client, document):
    """Anonymous queries of every shape get data or client errors."""
    check(client, document)


@pytest.mark.django_db
@seed(20261127)
@FUZZ
@given(document=from_schema(SCHEMA, custom_scalars=SCALARS, fields=["submitQuizAttempt"]))
def test_fuzzed_submissions_never_fail_the_server(seed_quiz, client, document):
    """Arbitrary submissions are scored or refused with codes, never crash."""
    check(client, document)
