"""Trusted documents: registration from Relay and Apollo manifests, calls by id over GET
and POST, unknown ids, and the trusted-documents-only mode per kind of caller."""

import json

import pytest
from django.core.management import CommandError, call_command

from analytics.models import ApiToken
from analytics.tokens import api_token_create
from glossary_backend import documents
from glossary_backend.documents import document_id_of
from glossary_backend.models import TrustedDocument
from glossary_backend.preview import preview_token_mint

TERM_PAGE = "query TermPage($slug: String!) { term(slug: $slug) { slug name chapter { slug } } }"
CHAPTERS = "query Chapters { chapters(first: 5) { totalCount edges { node { slug } } } }"
TERM_PAGE_ID = document_id_of(TERM_PAGE)
CHAPTERS_ID = document_id_of(CHAPTERS)


@pytest.fixture
def relay_map(tmp_path):
    path = tmp_path / "persisted-queries.json"
    path.write_text(json.dumps({TERM_PAGE_ID.removeprefix("sha256:"): TERM_PAGE}))
    return path


@pytest.fixture
def apollo_manifest(tmp_path):
    path = tmp_path / "persisted-query-manifest.json"
    manifest = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": CHAPTERS_ID.removeprefix("sha256:"), "name": "Chapters", "type": "query",
             "body": CHAPTERS},
        ],
    }  # fmt: skip
    path.write_text(json.dumps(manifest))
    return path


@pytest.fixture
def registered(db, relay_map, apollo_manifest):
    call_command("documents", "register", str(relay_map))
    call_command("documents", "register", str(apollo_manifest))


def test_both_manifest_formats_register(db, relay_map, apollo_manifest, capsys):
    """A Relay map and an Apollo manifest register their documents under sha256 ids."""
    call_command("documents", "register", str(relay_map))
    call_command("documents", "register", str(apollo_manifest))
    call_command("documents", "register", str(apollo_manifest))
    output = capsys.readouterr().out
    assert "1 document(s) registered, 0 already registered." in output
    assert "0 document(s) registered, 1 already registered." in output
    assert dict(TrustedDocument.objects.values_list("document_id", "name")) == {
        TERM_PAGE_ID: "TermPage",
        CHAPTERS_ID: "Chapters",
    }
    call_command("documents", "list")
    assert CHAPTERS_ID in capsys.readouterr().out


def test_registration_is_all_or_nothing(db, tmp_path):
    """A wrong hash or an invalid document is reported and nothing is registered."""
    bad = "query Bad { nope }"
    path = tmp_path / "map.json"
    path.write_text(
        json.dumps({
            TERM_PAGE_ID.removeprefix("sha256:"): TERM_PAGE,
            document_id_of(bad).removeprefix("sha256:"): bad,
            "0" * 64: CHAPTERS,
        })
    )  # fmt: skip
    with pytest.raises(CommandError) as error:
        call_command("documents", "register", str(path))
    message = str(error.value)
    assert "Cannot query field 'nope' on type 'Query'." in message
    assert "is not the SHA-256 of its text" in message
    assert not TrustedDocument.objects.exists()
    path.write_text("[1, 2]")
    with pytest.raises(CommandError, match="Expected a Relay persisted-query map"):
        call_command("documents", "register", str(path))


def test_remove(registered, capsys):
    """Removed documents stop working at once; unknown ids are refused."""
    call_command("documents", "remove", CHAPTERS_ID)
    assert not TrustedDocument.objects.filter(document_id=CHAPTERS_ID).exists()
    with pytest.raises(CommandError, match="Not registered"):
        call_command("documents", "remove", CHAPTERS_ID)


def test_get_and_post_by_id(registered, seed, client, django_assert_num_queries):
    """GET and POST with documentId run the registered document with its variables."""
    variables = json.dumps({"slug": "lora"})
    expected = {
        "data": {
            "term": {
                "slug": "lora",
                "name": "LoRA",
                "chapter": {"slug": "fine-tuning-alignment-terms"},
            }
        }
    }
    response = client.get("/graphql", {"documentId": TERM_PAGE_ID, "variables": variables})
    assert response.status_code == 200
    body = response.json()
    body.pop("extensions")
    assert body == expected
    response = client.post(
        "/graphql",
        {"documentId": TERM_PAGE_ID, "variables": {"slug": "lora"}},
        content_type="application/json",
    )
    body = response.json()
    body.pop("extensions")
    assert body == expected
    # Parsed, validated and costed once: the next call runs only the term's and chapter's
    # queries (not cached: POST).
    with django_assert_num_queries(2):
        client.post(
            "/graphql",
            {"documentId": TERM_PAGE_ID, "variables": {"slug": "lora"}},
            content_type="application/json",
        )


def test_trusted_documents_keep_the_limits(db, registered, seed, client, settings):
    """The cost limit, operation rules and variables apply to trusted documents too."""
    settings.GRAPHQL_MAX_COST = 3
    response = client.get("/graphql", {"documentId": CHAPTERS_ID})
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert response["Cache-Control"] == "no-store"
    response = client.get("/graphql", {"documentId": TERM_PAGE_ID})
    assert "errors" in response.json()
    both = {"documentId": TERM_PAGE_ID, "query": "{ letters { letter } }"}
    response = client.get("/graphql", both)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("document_id", "status", "code"),
    [
        (document_id_of("{ chapters { totalCount } }"), 404, "PERSISTED_DOCUMENT_NOT_FOUND"),
        ("sha256:xyz", 400, "BAD_REQUEST"),
        ("md5:abc", 400, "BAD_REQUEST"),
        ("", 400, "BAD_REQUEST"),
        ("sha256:" + "A" * 64, 400, "BAD_REQUEST"),
    ],
)
def test_unknown_or_malformed_id(db, client, document_id, status, code):
    """An unknown id is a 404 with PERSISTED_DOCUMENT_NOT_FOUND; one that cannot be an id
    is the client's mistake, a 400 that does not echo it."""
    for response in (
        client.get("/graphql", {"documentId": document_id}),
        client.post("/graphql", {"documentId": document_id}, content_type="application/json"),
    ):
        assert response.status_code == status
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == code
        if status == 400:
            assert document_id not in error["message"] or not document_id
        assert response["Cache-Control"] == "no-store"


def test_trusted_documents_only_per_caller(registered, seed, client, staff, analyst, settings):
    """With GRAPHQL_TRUSTED_DOCUMENTS_ONLY anonymous text is refused; ids work for
    everyone; staff sessions, preview callers and API tokens may still send text."""
    settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = True
    text = {"query": "{ chapters { totalCount } }"}
    response = client.post("/graphql", text, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
    assert client.get("/graphql", text).status_code == 403
    # A made-up Authorization header is no way around it; a real token is.
    response = client.get("/graphql", text, headers={"Authorization": "Bearer made-up"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "API_TOKEN_INVALID"
    assert "data" not in response.json()
    assert response["Cache-Control"] == "private, no-store"
    _, api_token = api_token_create(
        user=analyst, name="report", scopes=[ApiToken.Scope.ANALYTICS_READ]
    )
    response = client.get("/graphql", text, headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 200
    assert client.get("/graphql", {"documentId": CHAPTERS_ID}).status_code == 200
    token = preview_token_mint(obj=seed, user=staff)
    response = client.post(
        "/graphql", text, content_type="application/json", headers={"X-Preview-Token": token}
    )
    assert response.status_code == 200
    client.force_login(staff)
    assert client.post("/graphql", text, content_type="application/json").status_code == 200


def test_the_parsed_document_is_kept(registered):
    """A document is parsed once per process."""
    first = documents.trusted_document(TERM_PAGE_ID)
    assert documents.trusted_document(TERM_PAGE_ID) is first
