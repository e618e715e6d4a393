"""HTTP caching of GraphQL answers: headers per kind of caller, ETags and 304s,
surrogate keys of each read path, and the response cache with its invalidation."""

import datetime
import json
import os
import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql import GraphQLList, GraphQLNonNull, get_named_type
from strawberry import relay

from glossary_backend import caching
from glossary_backend.documents import ManifestEntry, document_id_of, documents_register
from glossary_backend.preview import preview_token_mint
from quizzes.models import Quiz
from terms import outbox
from terms.models import ChangeEvent, ChangeKind, Status, Term
from terms.services import content_save, content_set_status

PUBLIC = "public, max-age=60, stale-while-revalidate=300"
TERM_PAGE = (
    "query TermPage($slug: String!) { term(slug: $slug) { slug name "
    "chapter { slug } relatedTerms { slug } } }"
)
CHAPTER_PAGE = (
    'query ChapterPage { chapter(slug: "fine-tuning-alignment-terms") { title termCount '
    "terms(first: 2) { edges { node { slug } } } } }"
)
TERM_NAME = "query TermName($slug: String!) { term(slug: $slug) { name } }"
TERM_LIST = "query TermList { terms(first: 3) { totalCount edges { node { slug } } } }"
SEARCH = 'query Search { search(query: "qlora", first: 1) { term { slug } } }'
QUIZ_PAGE = (
    'query QuizPage { quiz(slug: "fine-tuning-alignment-quiz") { title '
    "questions { position prompt } } }"
)


def register(*texts):
    report = documents_register(entries=[ManifestEntry(document_id_of(t), t) for t in texts])
    assert not report.errors, report.errors


def get(client, text, variables=None, **headers):
    params = {"documentId": document_id_of(text)}
    if variables is not None:
        params["variables"] = json.dumps(variables)
    return client.get("/graphql", params, headers=headers)


def keys(response) -> set[str]:
    assert response["Cache-Tag"] == response["Surrogate-Key"].replace(" ", ",")
    return set(response["Surrogate-Key"].split())


@pytest.fixture
def lora(seed):
    return Term.objects.get(slug="lora")


def test_anonymous_get_is_public_with_keys(client, lora, seed):
    """Anonymous GET: public Cache-Control, strong ETag, Vary, keys of what it returns."""
    register(TERM_NAME)
    response = get(client, TERM_NAME, {"slug": "lora"})
    assert response.status_code == 200
    assert response["Cache-Control"] == PUBLIC
    assert response["ETag"].startswith('"')
    assert not response["ETag"].startswith("W/")
    assert {"Cookie", "Authorization", "X-Preview-Token"} <= {
        part.strip() for part in response["Vary"].split(",")
    }
    assert keys(response) == {f"term:{lora.pk}"}
    # A text query over GET is public too.
    response = client.get("/graphql", {"query": TERM_NAME, "variables": '{"slug": "lora"}'})
    assert response["Cache-Control"] == PUBLIC
    assert keys(response) == {f"term:{lora.pk}"}


def test_not_modified_round_trip(client, lora):
    """If-None-Match with the ETag gets a 304 with the caching headers and no body."""
    register(TERM_NAME)
    first = get(client, TERM_NAME, {"slug": "lora"})
    again = get(client, TERM_NAME, {"slug": "lora"}, **{"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == PUBLIC
    assert again["Surrogate-Key"] == first["Surrogate-Key"]
    other = get(client, TERM_NAME, {"slug": "qlora"}, **{"If-None-Match": first["ETag"]})
    assert other.status_code == 200


def test_private_callers(client, lora, seed, staff):
    """Staff sessions, preview tokens and Authorization headers get private, no-store."""
    register(TERM_NAME)
    token = preview_token_mint(obj=lora, user=staff)
    for headers in ({"X-Preview-Token": token}, {"Authorization": "Bearer some-token"}):
        response = get(client, TERM_NAME, {"slug": "lora"}, **headers)
        assert response["Cache-Control"] == "private, no-store", headers
        assert "Surrogate-Key" not in response
        assert "ETag" not in response
    client.force_login(staff)
    response = get(client, TERM_NAME, {"slug": "lora"})
    assert response["Cache-Control"] == "private, no-store"
    assert "Surrogate-Key" not in response


def test_errors_mutations_and_posts_are_no_store(client, seed):
    """Errors, POSTs (mutations included) and refusals are never stored."""
    response = client.get("/graphql", {"query": "{ nope }"})
    assert response["Cache-Control"] == "no-store"
    response = client.post("/graphql", {"query": "{ letters { letter } }"},
                           content_type="application/json")  # fmt: skip
    assert response["Cache-Control"] == "no-store"
    mutation = 'mutation { submitQuizAttempt(input: {quiz: "x", answers: []}) { __typename } }'
    response = client.post("/graphql", {"query": mutation}, content_type="application/json")
    assert response["Cache-Control"] == "no-store"
    assert client.get("/graphql", {"query": mutation})["Cache-Control"] == "no-store"


def test_surrogate_keys_of_each_read_path(client, seed, seed_quiz, lora):
    """Term page, chapter page, lists, search and quiz name what they return; a quiz's
    keys name none of the terms its questions test, which would tell answers."""
    register(TERM_PAGE, CHAPTER_PAGE, TERM_LIST, SEARCH, QUIZ_PAGE)
    related = {f"term:{pk}" for pk in lora.related_terms.values_list("pk", flat=True)}
    term_page = keys(get(client, TERM_PAGE, {"slug": "lora"}))
    assert term_page == {f"term:{lora.pk}", f"chapter:{seed.pk}", "terms", *related}
    first_two = Term.objects.order_by("name")[:2]
    chapter_page = keys(get(client, CHAPTER_PAGE))
    assert chapter_page == {f"chapter:{seed.pk}", "terms", *(t.surrogate_key for t in first_two)}
    listed = keys(get(client, TERM_LIST))
    assert listed == {"terms", *(t.surrogate_key for t in Term.objects.order_by("name")[:3])}
    qlora = Term.objects.get(slug="qlora")
    assert keys(get(client, SEARCH)) == {"terms", qlora.surrogate_key}
    assert keys(get(client, QUIZ_PAGE)) == {seed_quiz.surrogate_key}
    # The deprecated Question.term answers null: its list key, no term's key.
    with_terms = QUIZ_PAGE.replace("prompt", "prompt term { slug }")
    register(with_terms)
    assert keys(get(client, with_terms)) == {seed_quiz.surrogate_key, "terms"}


def test_the_response_cache_serves_a_hit(client, lora, django_assert_num_queries):
    """A second anonymous GET of a trusted document is answered from the cache."""
    register(TERM_NAME)
    first = get(client, TERM_NAME, {"slug": "lora"})
    with django_assert_num_queries(0):
        second = get(client, TERM_NAME, {"slug": "lora"})
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert second["Surrogate-Key"] == first["Surrogate-Key"]
    # Other variables are another entry.
    assert get(client, TERM_NAME, {"slug": "qlora"}).json()["data"] == {"term": {"name": "QLoRA"}}


def test_a_change_invalidates_what_holds_it(
    client, lora, seed, staff, django_capture_on_commit_callbacks
):
    """Editing a returned term, or publishing a term that joins a list, invalidates."""
    register(TERM_NAME, TERM_LIST)
    assert get(client, TERM_NAME, {"slug": "lora"}).json()["data"]["term"]["name"] == "LoRA"
    before = get(client, TERM_LIST).json()["data"]["terms"]["totalCount"]
    lora.name = "LoRA (edited)"
    with django_capture_on_commit_callbacks(execute=True):
        content_save(obj=lora, user=staff)
    assert get(client, TERM_NAME, {"slug": "lora"}).json()["data"]["term"]["name"] == (
        "LoRA (edited)"
    )
    with django_capture_on_commit_callbacks(execute=True):
        draft = Term.objects.create(chapter=seed, name="Aaa New", slug="aaa-new",
                                    definition="New.", status=Status.DRAFT)  # fmt: skip
    assert get(client, TERM_LIST).json()["data"]["terms"]["totalCount"] == before
    with django_capture_on_commit_callbacks(execute=True):
        content_set_status(queryset=Term.objects.filter(pk=draft.pk), status=Status.PUBLISHED)
    listed = get(client, TERM_LIST).json()["data"]["terms"]
    assert listed["totalCount"] == before + 1
    assert listed["edges"][0]["node"]["slug"] == "aaa-new"


def test_a_chapter_change_reaches_its_terms(client, lora, seed, django_capture_on_commit_callbacks):
    """Unpublishing a chapter hides its terms from cached term answers too."""
    register(TERM_NAME)
    assert get(client, TERM_NAME, {"slug": "lora"}).json()["data"]["term"] is not None
    with django_capture_on_commit_callbacks(execute=True):
        content_set_status(queryset=type(seed).objects.filter(pk=seed.pk), status=Status.DRAFT)
    assert get(client, TERM_NAME, {"slug": "lora"}).json()["data"]["term"] is None


def test_invalidate_surrogate_keys_is_callable_by_others(client, lora):
    """A purge by key (as a CDN purge sends) drops the origin's entries too."""
    register(TERM_NAME)
    get(client, TERM_NAME, {"slug": "lora"})
    Term.objects.filter(pk=lora.pk).update(name="Changed behind the services")
    assert get(client, TERM_NAME, {"slug": "lora"}).json()["data"]["term"]["name"] == "LoRA"
    caching.invalidate_surrogate_keys([lora.surrogate_key])
    data = get(client, TERM_NAME, {"slug": "lora"}).json()["data"]
    assert data["term"]["name"] == "Changed behind the services"


def test_response_cache_setting_off(client, lora, settings, django_assert_num_queries):
    settings.GRAPHQL_RESPONSE_CACHE_SECONDS = 0
    register(TERM_NAME)
    get(client, TERM_NAME, {"slug": "lora"})
    with django_assert_num_queries(1):
        get(client, TERM_NAME, {"slug": "lora"})


@pytest.fixture
def redis_url(tmp_path):
    """TEST_REDIS_URL (.ci/run starts Debian's redis-server), else a redis-server of this
    test's own on a free port; skipped without either."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (apt-get install redis-server) or TEST_REDIS_URL")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            with socket.socket() as attempt:
                if attempt.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_redis_backend(
    client, lora, settings, redis_url, django_assert_num_queries, staff,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """CACHE_URL=redis://... : hits, and invalidation, through Django's Redis cache."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "glossary-test",
        }
    }
    try:
        caches["default"].clear()
        register(TERM_NAME)
        get(client, TERM_NAME, {"slug": "lora"})
        with django_assert_num_queries(0):
            hit = get(client, TERM_NAME, {"slug": "lora"})
        assert hit.json()["data"]["term"]["name"] == "LoRA"
        assert type(caches["default"]).__name__ == "RedisCache"
        lora.name = "LoRA in Redis"
        with django_capture_on_commit_callbacks(execute=True):
            content_save(obj=lora, user=staff)
        assert get(client, TERM_NAME, {"slug": "lora"}).json()["data"]["term"]["name"] == (
            "LoRA in Redis"
        )
    finally:
        caches["default"].clear()


def test_load_seed_command_invalidates(client, db, django_capture_on_commit_callbacks):
    """Bulk loads go through the same path: a cached empty list does not survive them."""
    register(TERM_LIST)
    assert get(client, TERM_LIST).json()["data"]["terms"]["totalCount"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_seed", "fixtures/glossary.json", verbosity=0)
    assert get(client, TERM_LIST).json()["data"]["terms"]["totalCount"] == 31


def test_long_key_lists_fall_back_to_list_keys(client, seed, settings, monkeypatch):
    """Past the CDNs' header size, object keys that a list key covers are left out; the
    response cache always checks the compact set."""
    register(TERM_LIST)
    full = keys(get(client, TERM_LIST))
    assert len(full) == 4
    assert caching.compact_keys(full) == {"terms"}
    assert caching.compact_keys({"term:1", "chapter:2", "terms"}) == {"chapter:2", "terms"}
    settings.GRAPHQL_RESPONSE_CACHE_SECONDS = 0
    monkeypatch.setattr(caching, "MAX_KEYS_HEADER", 10)
    assert keys(get(client, TERM_LIST)) == {"terms"}


CHANGES = "query Sync { changes(first: 100) { latestCursor edges { node { slug } } } }"


def test_a_cached_null_is_dropped_when_its_object_is_published(
    client, lora, django_capture_on_commit_callbacks
):
    """Unpublish then republish a term: the anonymous answer follows both changes."""
    register(TERM_NAME)
    with django_capture_on_commit_callbacks(execute=True):
        content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.DRAFT)
    hidden = get(client, TERM_NAME, {"slug": "lora"})
    assert hidden.json()["data"]["term"] is None
    assert hidden["Surrogate-Key"] == "terms"  # a term published anywhere purges the null
    with django_capture_on_commit_callbacks(execute=True):
        content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.PUBLISHED)
    assert get(client, TERM_NAME, {"slug": "lora"}).json()["data"]["term"] == {"name": "LoRA"}


def test_the_changes_feed_shows_a_new_event_at_once(
    client, lora, django_capture_on_commit_callbacks
):
    """A sync build that asks again right after a publication sees it."""
    register(CHANGES)
    first = get(client, CHANGES)
    assert first.json()["data"]["changes"]["edges"] == []
    assert first["Cache-Control"] == "no-store"
    assert "Surrogate-Key" not in first
    with django_capture_on_commit_callbacks(execute=True):
        content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.DRAFT)
    edges = get(client, CHANGES).json()["data"]["changes"]["edges"]
    assert [edge["node"]["slug"] for edge in edges] == ["lora"]


TERM_DEFINITION = (
    "query TermDefinition($slug: String!) { term(slug: $slug) { slug definitionHtml } }"
)


def test_unpublishing_a_linked_term_drops_the_cached_links_to_it(
    client, admin_client, seed, django_capture_on_commit_callbacks
):
    """QLoRA's definition links to LoRA: unpublishing LoRA in the admin makes the next GET
    of QLoRA a cache miss, without the link."""
    register(TERM_DEFINITION)
    lora = Term.objects.get(slug="lora")
    first = get(client, TERM_DEFINITION, {"slug": "qlora"})
    assert 'href="' in first.json()["data"]["term"]["definitionHtml"]
    assert "/lora" in first.json()["data"]["term"]["definitionHtml"]
    with CaptureQueriesContext(connection) as hit:
        get(client, TERM_DEFINITION, {"slug": "qlora"})
    assert len(hit) == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/terms/term/", {"action": "make_draft", "_selected_action": [lora.pk]}
        )
    assert response.status_code == 302
    assert Term.objects.get(pk=lora.pk).status == Status.DRAFT
    with CaptureQueriesContext(connection) as miss:
        after = get(client, TERM_DEFINITION, {"slug": "qlora"})
    assert len(miss) > 0
    html = after.json()["data"]["term"]["definitionHtml"]
    assert "/lora" not in html
    assert "LoRA" in html


def is_hit(client, text, variables=None) -> bool:
    """Whether a GET is answered from the response cache (no query at all)."""
    with CaptureQueriesContext(connection) as queries:
        assert get(client, text, variables).status_code == 200
    return len(queries) == 0


def test_a_term_published_in_the_admin_joins_cached_lists(
    client, admin_client, seed, django_capture_on_commit_callbacks
):
    """A new published term saved by the admin's add form invalidates the cached lists."""
    register(TERM_LIST)
    before = get(client, TERM_LIST).json()["data"]["terms"]["totalCount"]
    assert is_hit(client, TERM_LIST)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/terms/term/add/",
            {"name": "Aaa New", "slug": "aaa-new", "chapter": seed.pk, "status": "published",
             "definition": "New."},
        )  # fmt: skip
    assert response.status_code == 302
    assert not is_hit(client, TERM_LIST)
    listed = get(client, TERM_LIST).json()["data"]["terms"]
    assert listed["totalCount"] == before + 1
    assert listed["edges"][0]["node"]["slug"] == "aaa-new"


TERM_JSON_LD = "query TermJsonLd($slug: String!) { term(slug: $slug) { jsonLd } }"


def test_a_term_json_ld_names_its_chapter(client, lora, seed, staff,
                                          django_capture_on_commit_callbacks):  # fmt: skip
    """A term's JSON-LD shows its chapter's title: its answer names the chapter's key, and
    the chapter's edit (an event with the chapter's keys only) invalidates it."""
    register(TERM_JSON_LD)
    response = get(client, TERM_JSON_LD, {"slug": "lora"})
    assert seed.surrogate_key in keys(response)
    assert is_hit(client, TERM_JSON_LD, {"slug": "lora"})
    seed.title = "Renamed chapter"
    with django_capture_on_commit_callbacks(execute=True):
        content_save(obj=seed, user=staff)
    assert ChangeEvent.objects.get(typename="Chapter").surrogate_keys == sorted(
        [seed.surrogate_key, "chapters"]
    )
    json_ld = get(client, TERM_JSON_LD, {"slug": "lora"}).json()["data"]["term"]["jsonLd"]
    assert json_ld["inDefinedTermSet"]["name"] == "Renamed chapter"


def test_the_cache_drops_exactly_the_keys_of_committed_events(
    client, lora, seed, staff, monkeypatch, django_capture_on_commit_callbacks
):
    """The outbox's events are the one record of what changed: their keys are what the
    cache invalidates, on commit; a draft's edit and a rolled-back change drop nothing."""
    register(TERM_NAME, TERM_LIST)
    get(client, TERM_NAME, {"slug": "lora"})
    get(client, TERM_LIST)
    invalidated = []
    real = caching.invalidate_surrogate_keys
    monkeypatch.setattr(caching, "invalidate_surrogate_keys",
                        lambda keys: invalidated.append(set(keys)) or real(keys))  # fmt: skip
    draft = Term.objects.create(chapter=seed, name="Draft", slug="draft", definition="D.",
                                status=Status.DRAFT)  # fmt: skip
    draft.definition = "Still a draft."
    with django_capture_on_commit_callbacks(execute=True):
        content_save(obj=draft, user=staff)

    def unpublish_then_fail():
        with transaction.atomic():
            content_set_status(queryset=Term.objects.filter(pk=lora.pk), status=Status.DRAFT)
            raise RuntimeError("rolled back")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        unpublish_then_fail()
    assert callbacks == []
    assert invalidated == []
    assert is_hit(client, TERM_NAME, {"slug": "lora"})
    assert is_hit(client, TERM_LIST)
    ChangeEvent.objects.all().delete()
    lora.name = "LoRA (edited)"
    with django_capture_on_commit_callbacks(execute=True):
        content_save(obj=lora, user=staff)
    (event,) = ChangeEvent.objects.all()
    assert invalidated == [set(event.surrogate_keys)]
    assert not is_hit(client, TERM_NAME, {"slug": "lora"})


def test_a_scheduled_go_live_ends_cached_answers_in_time(
    client, seed, staff, django_capture_on_commit_callbacks, monkeypatch
):
    """A cached list is kept no longer than the next scheduled go-live (a change with no
    write); the worker's sweep records its event once and invalidates once."""
    register(TERM_LIST)
    now = timezone.now()
    go_live_at = now + datetime.timedelta(seconds=1.5)
    soon = Term(chapter=seed, name="Aaa Soon", slug="aaa-soon", definition="Soon.",
                status=Status.PUBLISHED, go_live_at=go_live_at)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        content_save(obj=soon, user=staff)
    assert not ChangeEvent.objects.filter(slug="aaa-soon").exists()  # hidden before and after
    listed = get(client, TERM_LIST).json()["data"]["terms"]["edges"]
    assert listed[0]["node"]["slug"] != "aaa-soon"
    assert is_hit(client, TERM_LIST)
    time.sleep(max(0.0, (soon.go_live_at - timezone.now()).total_seconds()) + 0.2)
    assert not is_hit(client, TERM_LIST)
    assert get(client, TERM_LIST).json()["data"]["terms"]["edges"][0]["node"]["slug"] == (
        "aaa-soon"
    )
    invalidated = []
    monkeypatch.setattr(caching, "invalidate_surrogate_keys", invalidated.append)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            outbox.schedule_events_record()
    assert ChangeEvent.objects.filter(slug="aaa-soon", kind=ChangeKind.CREATED).count() == 1
    assert invalidated == [{f"term:{soon.pk}", f"chapter:{seed.pk}", "terms", "chapters"}]


NODE = (
    "query Node($id: ID!) { node(id: $id) { id "
    "... on Question { prompt choices { id text } } ... on Choice { text } } }"
)


def test_a_question_or_choice_read_by_id_is_purged_with_its_quiz(
    client, seed_quiz, staff, django_capture_on_commit_callbacks
):
    """A question is public only inside its quiz, so its answer names the quiz's key (a
    choice read alone names every quiz's); unpublishing the quiz drops both."""
    register(NODE)
    question = seed_quiz.questions.current().order_by("position").first()
    choice = question.choices.first()
    question_id = str(relay.GlobalID("Question", str(question.pk)))
    choice_id = str(relay.GlobalID("Choice", str(choice.public_id)))
    asked = get(client, NODE, {"id": question_id})
    assert asked.json()["data"]["node"]["prompt"] == question.prompt
    assert keys(asked) == {seed_quiz.surrogate_key}
    alone = get(client, NODE, {"id": choice_id})
    assert alone.json()["data"]["node"]["text"] == choice.text
    assert keys(alone) == {Quiz.list_surrogate_key()}

    with django_capture_on_commit_callbacks(execute=True):
        content_set_status(queryset=Quiz.objects.filter(pk=seed_quiz.pk), status=Status.DRAFT)

    assert get(client, NODE, {"id": question_id}).json()["data"]["node"] is None
    assert get(client, NODE, {"id": choice_id}).json()["data"]["node"] is None


def test_lists_of_keyed_objects_have_non_null_items():
    """Null answers name keys from their object's results (caching.SurrogateKeys), not
    from list items: a list of chapters, terms or quizzes with nullable items would need
    that rule extended."""
    from glossary_backend.schema import schema

    keyed = {"Chapter", "Term", "Quiz", "Node"}
    for graphql_type in schema._schema.type_map.values():
        for name, field in getattr(graphql_type, "fields", {}).items():
            field_type = (
                field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            )
            if isinstance(field_type, GraphQLList) and get_named_type(field_type).name in keyed:
                assert isinstance(field_type.of_type, GraphQLNonNull), (graphql_type, name)
