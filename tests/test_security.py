"""The public endpoint under malformed and hostile requests: 4xx and coded errors, never
a 500, a traceback, or a write."""

import json
import uuid

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from graphql.validation import NoSchemaIntrospectionCustomRule

from glossary_backend.security import validation_rules
from quizzes.models import QuizAttempt
from tests.quizzes.conftest import gid

TERM = 'query { term(slug: "lora") { name } }'
QUERY_NOT_STRING = "The GraphQL operation's `query` must be a string or null, if provided."
VARIABLES_NOT_OBJECT = "The GraphQL operation's `variables` must be an object or null, if provided."


def post_raw(client, body, content_type="application/json"):
    return client.generic("POST", "/graphql", body, content_type=content_type)


def error_message(response):
    return response.json()["errors"][0]["message"]


# HTTP layer


def test_body_over_64_kib_is_413_before_parsing(client):
    """An oversized body is refused by its declared length, unread."""
    body = json.dumps({"query": "{ __typename }", "variables": {"x": "y" * 70_000}})
    response = post_raw(client, body)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_get_over_64_kib_is_a_json_414(client):
    """A query string as large as the largest body allowed is refused before it is parsed."""
    variables = json.dumps({"x": "y" * 70_000})
    response = client.get("/graphql", {"query": "{ __typename }", "variables": variables})
    assert response.status_code == 414
    assert response.json() == {
        "errors": [
            {
                "message": "The query string is longer than 65536 bytes.",
                "extensions": {"code": "URI_TOO_LONG"},
            }
        ]
    }


def test_get_with_too_many_parameters_is_a_json_400(client, caplog):
    """Django's limit on query string fields is answered as JSON, without a traceback."""
    response = client.get("/graphql?" + "&".join(f"p{n}=1" for n in range(1001)))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "More than 1000 query string parameters.",
            "extensions": {"code": "BAD_REQUEST"},
        }
    ]
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'"a string"', "Expected a JSON object."),
        (b"42", "Expected a JSON object."),
        (b"null", "Expected a JSON object."),
        (b'[{"query": "{ __typename }"}]', "Expected a JSON object."),
        (b"\xff\xfe{}", "Request body is not valid UTF-8."),
        (b"[" * 20_000 + b"]" * 20_000, "JSON is nested too deeply."),
        (b"{not json", "Unable to parse request body as JSON"),
        (b'{"query": 42}', QUERY_NOT_STRING),
        (b'{"query": "{ __typename }", "variables": [1]}', VARIABLES_NOT_OBJECT),
        (b"{}", "No GraphQL query found in the request"),
    ],
)  # fmt: skip
def test_malformed_bodies_are_400(client, body, message):
    """Bodies that are not a GraphQL request object get a 400 with the reason."""
    response = post_raw(client, body)
    assert response.status_code == 400
    assert error_message(response) == message
    assert b"Traceback" not in response.content


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_wrong_content_types_are_400(client, content_type):
    """Only application/json POSTs are read."""
    response = post_raw(client, json.dumps({"query": TERM}), content_type=content_type)
    assert response.status_code == 400
    assert error_message(response) == "Unsupported content type"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_are_405(client, method):
    """Only GET and POST are served."""
    response = client.generic(method, "/graphql", "{}", content_type="application/json")
    assert response.status_code == 405


def test_query_text_over_10000_characters_is_refused(client):
    """A query longer than the limit is refused before parsing."""
    query = "{ __typename " + " " * 10_000 + "}"
    response = post_raw(client, json.dumps({"query": query}))
    assert response.status_code == 400
    assert error_message(response) == "Query is longer than 10000 characters."


@pytest.mark.parametrize(
    ("variables", "path"),
    [
        ({"slug": "lo\x00ra"}, "variables.slug"),
        ({"slug": "lone \ud800"}, "variables.slug"),
        ({"slug": "bell\x07"}, "variables.slug"),
        ({"input": {"answers": [{"question": "x\x00"}]}}, "variables.input.answers.0.question"),
    ],
)
def test_unsafe_text_in_variables_is_refused(client, variables, path):
    """NUL, control characters and lone surrogates never reach the database."""
    body = json.dumps(
        {"query": "query($slug: String!) { term(slug: $slug) { name } }", "variables": variables}
    )
    response = post_raw(client, body)
    assert response.status_code == 400
    assert (
        error_message(response)
        == f"{path}: must not contain control characters or unpaired surrogates."
    )


def test_unsafe_text_in_literals_is_a_validation_error(graphql):
    """Escaped NULs in inline string literals are caught too."""
    result = graphql('{ term(slug: "lo\\u0000ra") { name } }', expect_errors=True)
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "control characters" in result["errors"][0]["message"]


def test_tabs_and_newlines_are_fine(seed, graphql):
    """Ordinary whitespace is not a control character here."""
    result = graphql(
        "query($q: String!) { search(query: $q) { term { slug } } }", {"q": "lora\n\t"}
    )
    assert result["data"]["search"][0]["term"]["slug"] == "lora"


# Operation limits


def nested(depth):
    """A document `depth` levels deep whose lists hold one item, so that only depth counts."""
    path = [("chapter", "slug"), ("terms(first: 1)", "totalCount"), ("edges", "cursor"),
            ("node", "slug")] * depth  # fmt: skip
    inner = path[depth - 1][1]
    for field, _leaf in reversed(path[:depth]):
        inner = f"{field} {{ {inner} }}"
    return f'{{ term(slug: "lora") {{ {inner} }} }}'


def test_depth_limit(seed, graphql):
    """Depth 10 passes; deeper is refused with a validation error."""
    assert "errors" not in graphql(nested(8))
    result = graphql(nested(11), expect_errors=True)
    assert "exceeds maximum operation depth of 10" in result["errors"][0]["message"]
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_alias_limit(graphql):
    """More than 15 aliases are refused."""
    aliases = " ".join(f"a{n}: __typename" for n in range(16))
    result = graphql(f"{{ {aliases} }}", expect_errors=True)
    assert result["errors"][0]["message"] == "16 aliases found. Allowed: 15"


def test_token_limit(graphql):
    """More than 1000 tokens are refused."""
    fields = " ".join("rank" for _ in range(1000))
    result = graphql(f'{{ search(query: "x") {{ {fields} }} }}', expect_errors=True)
    assert result["errors"][0]["message"] == (
        "Syntax Error: Document contains more than 1000 tokens. Parsing aborted."
    )
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_one_submission_per_operation(seed_quiz, graphql):
    """Aliases cannot batch submissions."""
    item = '(input: {{quiz: "{q}", answers: [], idempotencyKey: "{k}"}}) {{ __typename }}'
    query = "mutation {{ a: submitQuizAttempt{a} b: submitQuizAttempt{b} }}".format(
        a=item.format(q=gid(seed_quiz), k="1"), b=item.format(q=gid(seed_quiz), k="2")
    )
    result = graphql(query, expect_errors=True)
    assert result["errors"][0]["message"] == "At most one submitQuizAttempt per request."
    assert not QuizAttempt.objects.exists()


def test_batching_is_off(client):
    """A list of operations is refused."""
    response = post_raw(client, json.dumps([{"query": "{ __typename }"}] * 2))
    assert response.status_code == 400


def test_legitimate_frontend_queries_fit_the_limits(seed_quiz, graphql):
    """The deepest and largest documents of the README stay under every limit."""
    from tests.quizzes.test_submit import SUBMIT
    from tests.terms.test_query_counts import NESTED_CHAPTERS

    assert "errors" not in graphql(NESTED_CHAPTERS)
    result = graphql(
        SUBMIT, {"input": {"quiz": gid(seed_quiz), "answers": [], "idempotencyKey": "k"}}
    )
    assert result["data"]["submitQuizAttempt"]["__typename"] == "QuizAttempt"


# Production posture


def test_introspection_is_off_in_production(graphql):
    """Without DEBUG (or GRAPHQL_INTROSPECTION) the schema cannot be introspected."""
    result = graphql("{ __schema { types { name } } }", expect_errors=True)
    assert "introspection" in result["errors"][0]["message"].lower()


@override_settings(GRAPHQL_INTROSPECTION=True)
def test_introspection_can_be_turned_on(graphql):
    """GRAPHQL_INTROSPECTION lets partners introspect."""
    result = graphql("{ __schema { queryType { name } } }")
    assert result["data"] == {"__schema": {"queryType": {"name": "Query"}}}


SUGGESTION_BAITS = {
    "field": ('{ trem(slug: "x") { name } }', None, ["Cannot query field 'trem' on type 'Query'."]),
    "argument": (
        '{ term(slugg: "x") { name } }',
        None,
        [
            "Unknown argument 'slugg' on field 'Query.term'.",
            "Argument 'Query.term(slug:)' of type 'String!' is required, but it was not provided.",
        ],
    ),
    # QuizAnalytics is a staff-only type: a hint would reveal it.
    "type name": (
        "query($a: QuizAnalytic) { term(slug: $a) { name } }",
        None,
        ["Unknown type 'QuizAnalytic'."],
    ),
    "enum value": (
        "{ terms(order: {name: ASCC}) { totalCount } }",
        None,
        ["Value 'ASCC' does not exist in 'Ordering' enum."],
    ),
    "input field": (
        '{ terms(filters: {chapterr: "x"}) { totalCount } }',
        None,
        [
            "Expected value of type 'TermFilter' not to include unknown field 'chapterr', "
            'found: { chapterr: "x" }.'
        ],
    ),
    "input field of a variable": (
        "query($f: TermFilter) { terms(filters: $f) { totalCount } }",
        {"f": {"chapterr": "x"}},
        [
            "Variable '$f' has invalid value: Expected value of type 'TermFilter' not to "
            "include unknown field 'chapterr', found: {'chapterr': 'x'}."
        ],
    ),
    "enum value of a variable": (
        "query($o: TermOrder) { terms(order: $o) { totalCount } }",
        {"o": {"name": "ASCC"}},
        [
            "Variable '$o' has invalid value at .name: Value 'ASCC' does not exist in "
            "'Ordering' enum."
        ],
    ),
}


@pytest.mark.parametrize("bait", SUGGESTION_BAITS)
def test_no_suggestions_without_introspection(graphql, bait):
    """No "did you mean": not for fields, arguments, types, enum values or input fields."""
    query, variables, messages = SUGGESTION_BAITS[bait]
    result = graphql(query, variables, expect_errors=True)
    assert [error["message"] for error in result["errors"]] == messages


@override_settings(GRAPHQL_INTROSPECTION=True)
def test_suggestions_where_introspection_is_on(graphql):
    """Where the schema is public anyway, mistakes get their hints."""
    result = graphql('{ term(slugg: "x") { name } }', expect_errors=True)
    assert "Did you mean 'slug'?" in result["errors"][0]["message"]


def test_unexpected_errors_are_masked(seed, graphql, monkeypatch, caplog):
    """A crash inside a resolver becomes a generic message; the details go to the log."""
    from terms import search

    def crash(**kwargs):
        raise RuntimeError("secret path /srv/app/terms/search.py SELECT * FROM terms_term")

    monkeypatch.setattr("terms.graphql.schema.search_terms", crash)
    result = graphql('{ search(query: "lora") { rank } }', expect_errors=True)
    assert result["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["search"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert "secret path" in caplog.text
    assert search.search_terms is not crash


def test_database_failure_is_clean_and_the_next_request_works(seed_quiz, graphql):
    """A database that fails mid-request yields a retryable error, writes nothing, and
    the following request succeeds."""

    def fail_inserts(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    from tests.quizzes.test_submit import SUBMIT

    variables = {"input": {"quiz": gid(seed_quiz), "answers": [], "idempotencyKey": "k"}}
    with connection.execute_wrapper(fail_inserts):
        result = graphql(SUBMIT, variables, expect_errors=True)
    assert result["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert result["errors"][0]["message"] == "The service is busy or unavailable; try again."
    assert not QuizAttempt.objects.exists()
    assert graphql(SUBMIT, variables)["data"]["submitQuizAttempt"]["__typename"] == "QuizAttempt"
    assert QuizAttempt.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_statement_timeout_is_clean(seed, client):
    """Statements are capped; one cut off answers SERVICE_UNAVAILABLE, and the next works."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "15s"

    def slow(execute, sql, params, many, context):
        if sql.startswith("SELECT") and "terms_term" in sql:
            sql = "SELECT pg_sleep(1), " + sql.removeprefix("SELECT")
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 100")
    try:
        with connection.execute_wrapper(slow):
            response = client.post("/graphql", {"query": TERM}, content_type="application/json")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    ok = client.post("/graphql", {"query": TERM}, content_type="application/json")
    assert ok.json()["data"]["term"]["name"] == "LoRA"


def test_permission_errors_have_a_code(graphql):
    """Permission errors stay readable and carry FORBIDDEN."""
    result = graphql('{ quizAnalytics(quiz: "x") { summary { attempts } } }', expect_errors=True)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@override_settings(DEBUG=False)
def test_graphiql_is_not_served(client):
    """No IDE page for browsers in production."""
    response = client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "argument"),
    [
        ("query($s: String!) { term(slug: $s) { name } }", "slug"),
        ("query($s: String!) { chapter(slug: $s) { title } }", "slug"),
        ("query($s: String!) { quiz(slug: $s) { title } }", "slug"),
        ("query($s: String!) { terms(filters: {chapter: $s}) { totalCount } }", "filters.chapter"),
        (
            "query($s: String!) { quizzes(filters: {chapter: $s}) { totalCount } }",
            "filters.chapter",
        ),
    ],
)
def test_free_text_arguments_have_length_limits(graphql, query, argument):
    """Slugs longer than any slug can be are a coded error naming the argument."""
    result = graphql(query, {"s": "x" * 201}, expect_errors=True)
    assert result["errors"][0]["message"] == f"{argument}: must be at most 200 characters."
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_validation_rules_are_the_same_classes_every_request():
    """Validation results are cached per document and rules: rules built anew for each
    request (as strawberry's QueryDepthLimiter does) would never hit the cache."""
    assert validation_rules(False) is validation_rules(False)
    assert NoSchemaIntrospectionCustomRule in validation_rules(False)
    assert NoSchemaIntrospectionCustomRule not in validation_rules(True)


def test_a_document_seen_before_is_not_validated_again(graphql, monkeypatch):
    """Validation runs once per distinct document; repeats are answered from the cache."""
    from glossary_backend.security import NoUnsafeTextInLiterals

    seen = []
    monkeypatch.setattr(
        NoUnsafeTextInLiterals,
        "enter_document",
        lambda self, node, *_: seen.append(node),
        raising=False,
    )
    document = f"{{ unique_{uuid.uuid4().hex}: __typename }}"
    for _ in range(3):
        assert graphql(document)["data"]
    assert len(seen) == 1
