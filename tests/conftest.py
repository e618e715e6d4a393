import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command

from glossary_backend import plans, routers
from quizzes.models import Choice, Question, Quiz
from terms import linking
from terms.models import Chapter, Status, Term
from terms.services import term_mentions_refresh

SEED_FIXTURE = settings.BASE_DIR / "fixtures" / "glossary.json"
QUIZ_FIXTURE = settings.BASE_DIR / "fixtures" / "quizzes.json"
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "glossary_backend.postgresql"


REPLICAS = routers.replicas()


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs PostgreSQL (this run is on SQLite)")
    no_replica = pytest.mark.skip(reason="needs a streaming replica (DATABASE_REPLICA_URLS)")
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip)
        if "replica" in item.keywords and not REPLICAS:
            item.add_marker(no_replica)


@pytest.fixture(autouse=True)
def reads_on_the_primary(request, monkeypatch):
    """A test's uncommitted rows are on the primary only: tests read there unless marked
    `replica` (those commit, and wait for the replica)."""
    if not request.node.get_closest_marker("replica"):
        monkeypatch.setattr(routers, "replicas", lambda: [])


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests log users in by the dozen; a slow hash only costs time here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_term_linker():
    """Each test builds its own terms: no linker survives from an earlier test."""
    linking._LINKERS.clear()


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts with an empty response cache and no parsed trusted documents."""
    from django.core.cache import cache

    from glossary_backend import documents

    cache.clear()
    documents._prepared.clear()


@pytest.fixture
def planned(monkeypatch):
    """The models of the optimizer plans worked out (glossary_backend.plans), in order:
    a plan taken from a trusted document adds none."""
    calls = []
    original = plans._plan

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(plans, "_plan", counting)
    return calls


@pytest.fixture
def editor(django_user_model):
    user = django_user_model.objects.create_user(
        "editor", "editor@example.com", "editor-password", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser(
        "staff", "staff@example.com", "staff-password"
    )


@pytest.fixture
def analyst(django_user_model):
    """Staff in the Analysts group: reads analytics and exports, edits nothing."""
    user = django_user_model.objects.create_user("analyst", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Analysts"))
    return user


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def seed(db):
    """The seed chapter with its 31 published terms."""
    call_command("loaddata", SEED_FIXTURE, verbosity=0)
    term_mentions_refresh()
    return Chapter.objects.get(slug="fine-tuning-alignment-terms")


@pytest.fixture
def seed_quiz(seed):
    """The seed chapter's published quiz of 14 questions."""
    call_command("loaddata", QUIZ_FIXTURE, verbosity=0)
    return Quiz.objects.get(slug="fine-tuning-alignment-quiz")


@pytest.fixture
def make_chapter(db):
    def make(slug="chapter", status=Status.PUBLISHED, **fields):
        fields.setdefault("title", slug.replace("-", " ").title())
        if status == Status.PUBLISHED:
            fields.setdefault("published_at", "2026-01-01T00:00:00Z")
        return Chapter.objects.create(slug=slug, status=status, **fields)

    return make


@pytest.fixture
def make_term(db):
    def make(chapter, name, status=Status.PUBLISHED, **fields):
        fields.setdefault("slug", name.lower().replace(" ", "-"))
        fields.setdefault("definition", f"Definition of {name}.")
        if status == Status.PUBLISHED:
            fields.setdefault("published_at", "2026-01-01T00:00:00Z")
        term = Term.objects.create(chapter=chapter, name=name, status=status, **fields)
        term_mentions_refresh()  # as every write path of the application does
        return term

    return make


@pytest.fixture
def graphql(client):
    """POST a GraphQL document to /graphql as `client` (log it in first for a role).

    Returns the decoded body; asserts the response is JSON with status 200.
    """

    def run(query, variables=None, *, expect_errors=False):
        body = {"query": query}
        if variables is not None:
            body["variables"] = variables
        response = client.post("/graphql", body, content_type="application/json")
        assert response.status_code == 200, response.content
        result = response.json()
        if not expect_errors:
            assert "errors" not in result, result["errors"]
        return result

    return run


@pytest.fixture
def make_quiz(db):
    """make_quiz(spec) builds a published quiz; spec is a list of (kind, [correct flags])."""

    def make(spec, slug="quiz", chapter=None, status=Status.PUBLISHED, **fields):
        if status == Status.PUBLISHED:
            fields.setdefault("published_at", "2026-01-01T00:00:00Z")
        quiz = Quiz.objects.create(
            title=slug.title(), slug=slug, chapter=chapter, status=status, **fields
        )
        for position, (kind, flags) in enumerate(spec, start=1):
            question = Question.objects.create(
                quiz=quiz,
                position=position,
                prompt=f"Question {position}?",
                kind=kind,
                explanation=f"Because {position}.",
            )
            Choice.objects.bulk_create(
                Choice(question=question, position=index, text=f"Choice {position}.{index}",
                       is_correct=flag)
                for index, flag in enumerate(flags, start=1)
            )  # fmt: skip
        return quiz

    return make
